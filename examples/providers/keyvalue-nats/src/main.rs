//! `keyvalue-nats`: `wasi:keyvalue@0.2.0-draft` (store, atomics, batch)
//! backed by NATS JetStream KV, so the data outlives every host and is
//! replicated by NATS.
//!
//! The host implements an actor's `wasi:keyvalue` imports and forwards each
//! operation here in a flat form: the bucket's identifier first, then the
//! operation's own parameters (docs/providers.md). `open(identifier)` maps
//! to the JetStream KV bucket `floe-{lattice}-kv-{identifier}` (created on
//! first use), so no actor reaches Floe's own buckets; the link's target
//! config `buckets=a,b` lists the identifiers an actor may open. User keys
//! are encoded for NATS (see [`keys`]); `list-keys` pages over a snapshot
//! (see [`listing`]).

mod keys;
mod listing;
mod store;

use floe_provider::{Context, ErrorKind, Invocation, InvocationError, Provider, values};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::store::Stores;

/// `wasi:keyvalue/store.error` (cases in WIT order).
#[derive(Debug, Serialize, Deserialize)]
pub enum KvError {
    NoSuchStore,
    AccessDenied,
    Other(String),
}

/// `wasi:keyvalue/store.key-response`.
#[derive(Debug, Serialize)]
struct KeyResponse {
    keys: Vec<String>,
    cursor: Option<u64>,
}

struct KeyValue {
    stores: Stores,
    listings: listing::Listings,
}

fn params<T: DeserializeOwned>(call: &Invocation) -> Result<T, InvocationError> {
    values::from_slice(&call.payload).map_err(|e| {
        InvocationError::new(ErrorKind::BadArguments, format!("{}: {e}", call.operation))
    })
}

fn reply<T: Serialize>(result: &Result<T, KvError>) -> Result<Vec<u8>, InvocationError> {
    values::to_vec(result).map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()))
}

impl KeyValue {
    async fn run(&self, ctx: &Context, call: &Invocation) -> Result<Vec<u8>, InvocationError> {
        let op = call.operation.as_str();
        match op {
            "wasi:keyvalue/store.open" => {
                let (id,): (String,) = params(call)?;
                reply(&self.stores.open(ctx, call, &id).await.map(|_| ()))
            }
            "wasi:keyvalue/store.get" => {
                let (id, key): (String, String) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => store::get(&kv, &key).await.map(|v| v.map(ByteBuf::from)),
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/store.set" => {
                let (id, key, value): (String, String, ByteBuf) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => store::set(&kv, &key, value.into_vec()).await,
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/store.delete" => {
                let (id, key): (String, String) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => store::delete(&kv, &key).await,
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/store.exists" => {
                let (id, key): (String, String) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => store::get(&kv, &key).await.map(|v| v.is_some()),
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/store.list-keys" => {
                let (id, cursor): (String, Option<u64>) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => self
                        .listings
                        .page(&kv, cursor)
                        .await
                        .map(|(keys, cursor)| KeyResponse { keys, cursor }),
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/atomics.increment" => {
                let (id, key, delta): (String, String, u64) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => self.stores.increment(&kv, &id, &key, delta).await,
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/batch.get-many" => {
                let (id, keys): (String, Vec<String>) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => store::get_many(&kv, keys).await.map(|found| {
                        found
                            .into_iter()
                            .map(|pair| pair.map(|(k, v)| (k, ByteBuf::from(v))))
                            .collect::<Vec<_>>()
                    }),
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/batch.set-many" => {
                let (id, pairs): (String, Vec<(String, ByteBuf)>) = params(call)?;
                let pairs = pairs.into_iter().map(|(k, v)| (k, v.into_vec())).collect();
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => store::set_many(&kv, pairs).await,
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            "wasi:keyvalue/batch.delete-many" => {
                let (id, keys): (String, Vec<String>) = params(call)?;
                let result = match self.stores.open(ctx, call, &id).await {
                    Ok(kv) => store::delete_many(&kv, keys).await,
                    Err(e) => Err(e),
                };
                reply(&result)
            }
            other => Err(InvocationError::new(
                ErrorKind::NoSuchOperation,
                format!(
                    "keyvalue-nats implements wasi:keyvalue store, atomics and batch, not {other}"
                ),
            )),
        }
    }
}

#[async_trait::async_trait]
impl Provider for KeyValue {
    async fn invoke(&self, ctx: &Context, call: Invocation) -> Result<Vec<u8>, InvocationError> {
        self.run(ctx, &call).await
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let provider = KeyValue {
        stores: Stores::default(),
        listings: listing::Listings::default(),
    };
    if let Err(e) = floe_provider::run(provider).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
