//! The echo actor: exports `floe:examples/echo` and needs no capabilities.

wit_bindgen::generate!({
    path: "../../../interfaces/wit/examples",
    world: "echo-actor",
});

use exports::floe::examples::echo::Guest;

struct Echo;

impl Guest for Echo {
    fn echo(s: String) -> String {
        s
    }

    fn reverse(mut b: Vec<u8>) -> Vec<u8> {
        b.reverse();
        b
    }
}

export!(Echo);
