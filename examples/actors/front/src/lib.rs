//! The front actor: exports `acme:greet/front` and calls the greeter it is
//! linked to for every name — wherever on the lattice that greeter runs.

wit_bindgen::generate!({
    path: "../../../interfaces/wit/acme-greet",
    world: "front-actor",
});

use acme::greet::greeter::{self, Person, Tone};
use exports::acme::greet::front::Guest;

struct Front;

impl Guest for Front {
    fn welcome(names: Vec<String>, formal: bool) -> Result<Vec<String>, String> {
        let tone = if formal { Tone::Formal } else { Tone::Warm };
        names
            .into_iter()
            .map(|name| {
                let (title, name) = match name.strip_prefix("Dr ") {
                    Some(rest) => (Some("Dr".to_owned()), rest.to_owned()),
                    None => (None, name),
                };
                let who = Person {
                    name: name.clone(),
                    title,
                    languages: vec![],
                };
                greeter::greet(&who, tone)
                    .map(|g| g.text)
                    .map_err(|e| format!("the greeter refused `{name}`: {e}"))
            })
            .collect()
    }
}

export!(Front);
