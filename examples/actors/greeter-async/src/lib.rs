//! The greeter as a WASI 0.3 component: `greet` and `bump` are `async
//! func`s. `greet` reads the config value `greeting` through
//! `wasi:config/store`; `bump` counts in `wasi:keyvalue` through whichever
//! provider the actor is linked to. `front` reaches `greet` through the
//! same link as the synchronous greeter.

wit_bindgen::generate!({
    path: "../../../interfaces/wit/acme-greet-async",
    world: "greeter-async-actor",
    generate_all,
});

use exports::acme::greet::greeter::{Greeting, Person, Salutation, Tone};
use wasi::config::store as config;
use wasi::keyvalue::{atomics, store};

struct Greeter;

impl exports::acme::greet::greeter::Guest for Greeter {
    async fn greet(who: Person, tone: Tone) -> Result<Greeting, String> {
        if who.name.trim().is_empty() {
            return Err("a person needs a name".to_owned());
        }
        let salutation = match &who.title {
            Some(title) => Salutation::Honorific(title.clone()),
            None => Salutation::Plain,
        };
        let addressed = match &who.title {
            Some(title) => format!("{title} {}", who.name),
            None => who.name.clone(),
        };
        let opening = config::get("greeting")
            .ok()
            .flatten()
            .unwrap_or_else(|| "Hello".to_owned());
        let text = match tone {
            Tone::Warm => format!("{opening}, {addressed}!"),
            Tone::Formal => format!("Good day, {addressed}."),
        };
        Ok(Greeting {
            length: text.chars().count() as u32,
            text,
            salutation,
            tone,
        })
    }
}

impl exports::acme::greet::tally::Guest for Greeter {
    async fn bump(name: String) -> Result<u64, String> {
        let bucket = store::open("counters").map_err(|e| format!("{e:?}"))?;
        atomics::increment(&bucket, &name, 1).map_err(|e| format!("{e:?}"))
    }
}

export!(Greeter);
