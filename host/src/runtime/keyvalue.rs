//! `wasi:keyvalue@0.2.0-draft` (store, atomics, batch) for actors that claim
//! it: the host implements the imports, bucket resources included, and
//! forwards every operation to the provider linked for `wasi:keyvalue`, as
//! an invocation of a flat, resource-free form of the same interface (the
//! bucket's identifier first; docs/providers.md). A failure to reach the
//! provider becomes the interface's own `error::other`, which the guest can
//! handle.

use floe_wire::values;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use wasmtime::component::{HasSelf, Linker, Resource};

use std::sync::Arc;

use super::caller::CallerContext;
use super::state::InstanceState;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../interfaces/wit/wasi-keyvalue",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": super::KvBucket,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

/// A bucket an actor opened: only its identifier lives in the host.
#[derive(Debug)]
pub struct KvBucket {
    identifier: String,
}

/// `store.error` on the wire (cases in WIT order).
#[derive(Debug, Serialize, Deserialize)]
enum WireError {
    NoSuchStore,
    AccessDenied,
    Other(String),
}

impl From<WireError> for store::Error {
    fn from(e: WireError) -> Self {
        match e {
            WireError::NoSuchStore => store::Error::NoSuchStore,
            WireError::AccessDenied => store::Error::AccessDenied,
            WireError::Other(s) => store::Error::Other(s),
        }
    }
}

/// `store.key-response` on the wire.
#[derive(Debug, Deserialize)]
struct KeyResponse {
    keys: Vec<String>,
    cursor: Option<u64>,
}

type KvResult<T> = wasmtime::Result<Result<T, store::Error>>;

/// Sends `interface.function(params)` to the linked provider and decodes
/// its `result<R, error>`. (Takes the caller by value: the future must not
/// borrow the store's state, which is not `Sync`.)
async fn forward<P: Serialize, R: DeserializeOwned>(
    caller: Option<Arc<CallerContext>>,
    interface: &str,
    function: &str,
    params: &P,
) -> Result<R, store::Error> {
    let Some(caller) = caller else {
        return Err(store::Error::Other(
            "wasi:keyvalue was called outside an invocation".to_owned(),
        ));
    };
    let payload = values::to_vec(params).map_err(|e| store::Error::Other(e.to_string()))?;
    let link_name = caller.link_name();
    let reply = caller
        .route(interface, function, payload)
        .await
        .map_err(|e| {
            store::Error::Other(format!(
                "{interface}.{function} through link `{link_name}`: {}",
                e.chain()
            ))
        })?;
    let decoded: Result<R, WireError> = values::from_slice(&reply).map_err(|e| {
        store::Error::Other(format!("the key-value provider's reply does not fit: {e}"))
    })?;
    decoded.map_err(store::Error::from)
}

impl InstanceState {
    fn identifier(&self, bucket: &Resource<KvBucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(bucket)?.identifier.clone())
    }
}

const STORE: &str = "wasi:keyvalue/store";
const ATOMICS: &str = "wasi:keyvalue/atomics";
const BATCH: &str = "wasi:keyvalue/batch";

impl store::Host for InstanceState {
    async fn open(&mut self, identifier: String) -> KvResult<Resource<KvBucket>> {
        if let Err(e) =
            forward::<_, ()>(self.caller.clone(), STORE, "open", &(identifier.as_str(),)).await
        {
            return Ok(Err(e));
        }
        Ok(Ok(self.table.push(KvBucket { identifier })?))
    }
}

impl store::HostBucket for InstanceState {
    async fn get(&mut self, bucket: Resource<KvBucket>, key: String) -> KvResult<Option<Vec<u8>>> {
        let id = self.identifier(&bucket)?;
        let got: Result<Option<ByteBuf>, _> =
            forward(self.caller.clone(), STORE, "get", &(id, key)).await;
        Ok(got.map(|v| v.map(ByteBuf::into_vec)))
    }

    async fn set(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
        value: Vec<u8>,
    ) -> KvResult<()> {
        let id = self.identifier(&bucket)?;
        Ok(forward(
            self.caller.clone(),
            STORE,
            "set",
            &(id, key, ByteBuf::from(value)),
        )
        .await)
    }

    async fn delete(&mut self, bucket: Resource<KvBucket>, key: String) -> KvResult<()> {
        let id = self.identifier(&bucket)?;
        Ok(forward(self.caller.clone(), STORE, "delete", &(id, key)).await)
    }

    async fn exists(&mut self, bucket: Resource<KvBucket>, key: String) -> KvResult<bool> {
        let id = self.identifier(&bucket)?;
        Ok(forward(self.caller.clone(), STORE, "exists", &(id, key)).await)
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<KvBucket>,
        cursor: Option<u64>,
    ) -> KvResult<store::KeyResponse> {
        let id = self.identifier(&bucket)?;
        let page: Result<KeyResponse, _> =
            forward(self.caller.clone(), STORE, "list-keys", &(id, cursor)).await;
        Ok(page.map(|p| store::KeyResponse {
            keys: p.keys,
            cursor: p.cursor,
        }))
    }

    async fn drop(&mut self, bucket: Resource<KvBucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for InstanceState {
    async fn increment(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
        delta: u64,
    ) -> KvResult<u64> {
        let id = self.identifier(&bucket)?;
        Ok(forward(self.caller.clone(), ATOMICS, "increment", &(id, key, delta)).await)
    }
}

impl batch::Host for InstanceState {
    async fn get_many(
        &mut self,
        bucket: Resource<KvBucket>,
        keys: Vec<String>,
    ) -> KvResult<Vec<Option<(String, Vec<u8>)>>> {
        let id = self.identifier(&bucket)?;
        let got: Result<Vec<Option<(String, ByteBuf)>>, _> =
            forward(self.caller.clone(), BATCH, "get-many", &(id, keys)).await;
        Ok(got.map(|all| {
            all.into_iter()
                .map(|kv| kv.map(|(k, v)| (k, v.into_vec())))
                .collect()
        }))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<KvBucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> KvResult<()> {
        let id = self.identifier(&bucket)?;
        let pairs: Vec<(String, ByteBuf)> = key_values
            .into_iter()
            .map(|(k, v)| (k, ByteBuf::from(v)))
            .collect();
        Ok(forward(self.caller.clone(), BATCH, "set-many", &(id, pairs)).await)
    }

    async fn delete_many(&mut self, bucket: Resource<KvBucket>, keys: Vec<String>) -> KvResult<()> {
        let id = self.identifier(&bucket)?;
        Ok(forward(self.caller.clone(), BATCH, "delete-many", &(id, keys)).await)
    }
}

/// Defines the `wasi:keyvalue` imports in `linker` (whether an actor may
/// use them is its claims' business, checked before it links).
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    store::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)?;
    atomics::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)?;
    batch::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)?;
    Ok(())
}
