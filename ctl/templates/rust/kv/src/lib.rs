//! {{name}}: counts in `wasi:keyvalue`. `increment(key)` adds one to the
//! counter `key` in the bucket `counters`, atomically, and returns the new
//! value; every replica on every host counts alike (the actor holds
//! nothing itself).
//!
//! Call it with `floe call {{name}} increment '["visits"]'` (1, then 2…).

wit_bindgen::generate!({ path: "wit", world: "actor", generate_all });

use wasi::keyvalue::{atomics, store};

const BUCKET: &str = "counters";

struct Actor;

impl Guest for Actor {
    fn increment(key: String) -> u64 {
        let counted = store::open(BUCKET)
            .and_then(|bucket| atomics::increment(&bucket, &key, 1));
        match counted {
            Ok(value) => value,
            Err(e) => {
                // The export returns a plain u64, so a failure traps the
                // call. Say why first: stderr reaches `floe logs {{name}}`.
                eprintln!("increment {key}: keyvalue failed: {e:?}");
                panic!("keyvalue failed");
            }
        }
    }
}

export!(Actor);
