//! The counter actor: named counters in the `wasi:keyvalue` bucket
//! `counters`, incremented atomically by whichever provider the actor is
//! linked to (`keyvalue-nats` keeps them in NATS JetStream KV).

wit_bindgen::generate!({
    path: "../../../interfaces/wit/examples",
    world: "counter-actor",
    generate_all,
});

use exports::floe::examples::counter::Guest;
use wasi::keyvalue::{atomics, store};

const BUCKET: &str = "counters";

struct Counter;

fn describe(e: store::Error) -> String {
    match e {
        store::Error::NoSuchStore => "no such store".to_owned(),
        store::Error::AccessDenied => format!("access to bucket `{BUCKET}` denied"),
        store::Error::Other(text) => text,
    }
}

impl Guest for Counter {
    fn increment(name: String) -> Result<u64, String> {
        let bucket = store::open(BUCKET).map_err(describe)?;
        atomics::increment(&bucket, &name, 1).map_err(describe)
    }

    fn get(name: String) -> Result<Option<u64>, String> {
        let bucket = store::open(BUCKET).map_err(describe)?;
        match bucket.get(&name).map_err(describe)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .ok()
                .and_then(|s| s.parse().ok())
                .map(Some)
                .ok_or_else(|| format!("`{name}` does not hold a number")),
        }
    }
}

export!(Counter);
