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

    fn version() -> String {
        // `make examples` also builds this actor with `--features next` to
        // sign a second version of the same actor for update tests.
        if cfg!(feature = "next") {
            "0.2.0".to_owned()
        } else {
            "0.1.0".to_owned()
        }
    }
}

export!(Echo);
