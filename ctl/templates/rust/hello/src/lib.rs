//! {{name}}: an actor exporting one function, `hello`.
//!
//! Call it with `floe call {{name}} hello '["world"]'`.

wit_bindgen::generate!({ path: "wit", world: "actor" });

struct Actor;

impl Guest for Actor {
    fn hello(name: String) -> String {
        format!("Hello, {name}!")
    }
}

export!(Actor);
