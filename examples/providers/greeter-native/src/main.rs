//! `greeter-native`: a capability provider implementing `acme:greet/greeter`
//! (interfaces/wit/acme-greet) in native code. An actor that imports the
//! interface is linked to it exactly as to the `greeter` actor:
//! `floe link put front greeter-native acme:greet/greeter`.
//!
//! The WIT types are plain serde types declared in WIT order; the SDK and
//! `floe_wire::values` turn them into the wire mapping.

use floe_provider::{Context, ErrorKind, Invocation, InvocationError, Provider, values};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Tone {
    Warm,
    Formal,
}

#[derive(Debug, Deserialize)]
struct Person {
    name: String,
    title: Option<String>,
    #[allow(dead_code)]
    languages: Vec<String>,
}

#[derive(Debug, Serialize)]
enum Salutation {
    Plain,
    Honorific(String),
}

#[derive(Debug, Serialize)]
struct Greeting {
    text: String,
    salutation: Salutation,
    tone: Tone,
    length: u32,
}

const GREET: &str = "acme:greet/greeter.greet";

struct Greeter;

fn greet(who: Person, tone: Tone) -> Result<Greeting, String> {
    if who.name.trim().is_empty() {
        return Err("a person needs a name".to_owned());
    }
    let name = match &who.title {
        Some(title) => format!("{title} {}", who.name),
        None => who.name.clone(),
    };
    let text = match tone {
        Tone::Warm => format!("Hello from native code, {name}!"),
        Tone::Formal => format!("Good day from native code, {name}."),
    };
    Ok(Greeting {
        length: u32::try_from(text.chars().count()).unwrap_or(u32::MAX),
        salutation: who.title.map_or(Salutation::Plain, Salutation::Honorific),
        text,
        tone,
    })
}

#[async_trait::async_trait]
impl Provider for Greeter {
    async fn invoke(&self, _ctx: &Context, call: Invocation) -> Result<Vec<u8>, InvocationError> {
        if call.operation != GREET {
            return Err(InvocationError::new(
                ErrorKind::NoSuchOperation,
                format!("greeter-native implements {GREET}, not {}", call.operation),
            ));
        }
        let (who, tone): (Person, Tone) = values::from_slice(&call.payload)
            .map_err(|e| InvocationError::new(ErrorKind::BadArguments, e.to_string()))?;
        values::to_vec(&greet(who, tone))
            .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()))
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    if let Err(e) = floe_provider::run(Greeter).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
