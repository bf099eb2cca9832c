//! The greeter actor: builds greetings; reached by `front` through a link.

wit_bindgen::generate!({
    path: "../../../interfaces/wit/acme-greet",
    world: "greeter-actor",
});

use exports::acme::greet::greeter::{Greeting, Guest, Person, Salutation, Tone};

struct Greeter;

impl Guest for Greeter {
    fn greet(who: Person, tone: Tone) -> Result<Greeting, String> {
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
        let text = match tone {
            Tone::Warm => format!("Hello, {addressed}!"),
            Tone::Formal => format!("Good day, {addressed}."),
        };
        let text = if who.languages.is_empty() {
            text
        } else {
            format!("{text} ({})", who.languages.join("/"))
        };
        Ok(Greeting {
            length: text.chars().count() as u32,
            text,
            salutation,
            tone,
        })
    }
}

export!(Greeter);
