//! The settings actor: reads the config it was started with through
//! `wasi:config/store` and logs through `wasi:logging` and stdout. Both
//! interfaces are granted to every actor without a claim.

wit_bindgen::generate!({
    path: "../../../interfaces/wit/examples",
    world: "settings-actor",
    generate_all,
});

use exports::floe::examples::settings::Guest;
use wasi::config::store;
use wasi::logging::logging::{self, Level};

struct Settings;

impl Guest for Settings {
    fn get(key: String) -> Option<String> {
        store::get(&key).ok().flatten()
    }

    fn all() -> Vec<(String, String)> {
        let mut pairs = store::get_all().unwrap_or_default();
        pairs.sort();
        pairs
    }

    fn say(text: String) {
        logging::log(Level::Info, "settings", &text);
        println!("printed: {text}");
    }
}

export!(Settings);
