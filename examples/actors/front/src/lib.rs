//! The front actor: exports `acme:greet/front` and calls the greeter it is
//! linked to for every name — wherever on the lattice that greeter runs —
//! through the default link, or one it picks with `floe:host/link`.

wit_bindgen::generate!({
    path: "../../../interfaces/wit/acme-greet",
    world: "front-actor",
    generate_all,
});

use acme::greet::greeter::{self, Person, Tone};
use exports::acme::greet::front::Guest;
use floe::host::link;

struct Front;

impl Guest for Front {
    fn welcome(names: Vec<String>, formal: bool) -> Result<Vec<String>, String> {
        let tone = if formal { Tone::Formal } else { Tone::Warm };
        greet_all(names, tone)
    }

    fn welcome_through(link_name: String, names: Vec<String>) -> Result<Vec<String>, String> {
        link::set_link_name(&link_name)?;
        greet_all(names, Tone::Warm)
    }
}

fn greet_all(names: Vec<String>, tone: Tone) -> Result<Vec<String>, String> {
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
                .map(|g| {
                    // `make examples` also builds this actor with `--features
                    // next`: other code, for update tests.
                    if cfg!(feature = "next") {
                        format!("{} (v2)", g.text)
                    } else {
                        g.text
                    }
                })
                .map_err(|e| format!("the greeter refused `{name}`: {e}"))
        })
        .collect()
}

export!(Front);
