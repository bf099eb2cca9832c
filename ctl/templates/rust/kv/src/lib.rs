//! {{name}}: counts in `wasi:keyvalue`. `increment(key)` adds one to the
//! counter `key` in the bucket `counters`, atomically, and returns the new
//! value; every replica on every host counts alike (the actor holds
//! nothing itself).
//!
//! Call it with `floe call {{name}} increment '["visits"]'` (1, then 2…).

wit_bindgen::generate!({ path: "wit", world: "{{name}}", generate_all });

use wasi::keyvalue::{atomics, store};

const BUCKET: &str = "counters";

struct Actor;

impl Guest for Actor {
    fn increment(key: String) -> Result<u64, String> {
        let bucket = store::open(BUCKET).map_err(|e| format!("cannot open {BUCKET}: {e:?}"))?;
        atomics::increment(&bucket, &key, 1).map_err(|e| format!("cannot count {key}: {e:?}"))
    }
}

export!(Actor);
