//! Imports routed by link (DESIGN.md import class 3): dynamic functions that
//! encode the arguments with the component's own types, hand them to the
//! host's [`Router`] (which sends an envelope to the link's target), and
//! decode the reply. The runtime knows nothing of NATS; the router does.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use floe_wire::{Encoding, ErrorKind, InvocationError};
use futures::future::BoxFuture;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{LinkerInstance, Val};

use super::imports;
use super::state::InstanceState;
use crate::codec;

/// One call of a routed import.
#[derive(Debug)]
pub struct RoutedCall<'a> {
    /// The calling actor.
    pub source: &'a str,
    /// The import, `ns:pkg/iface[@version]`.
    pub import: &'a str,
    pub function: &'a str,
    pub link_name: &'a str,
    /// The arguments, msgpack.
    pub payload: Vec<u8>,
    /// Time left of the caller's own deadline.
    pub deadline: std::time::Duration,
    /// The caller's span: the callee's joins its trace.
    pub trace: Option<&'a floe_wire::trace::TraceContext>,
}

/// Sends routed calls to whatever a link names.
pub trait Router: Send + Sync + std::fmt::Debug + 'static {
    fn call<'a>(&'a self, call: RoutedCall<'a>) -> BoxFuture<'a, Result<Vec<u8>, InvocationError>>;
}

/// What a routed import needs to know about the invocation it runs in.
pub struct CallerContext {
    pub actor_id: String,
    /// The link name in force (`default` until the guest picks another
    /// through `floe:host/link`).
    pub link_name: Mutex<String>,
    pub deadline_at: Instant,
    /// The invocation's span.
    pub trace: Option<floe_wire::trace::TraceContext>,
    pub router: Arc<dyn Router>,
    /// The first routed call that failed, reported to the original caller.
    pub failure: Mutex<Option<InvocationError>>,
}

impl std::fmt::Debug for CallerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerContext")
            .field("actor_id", &self.actor_id)
            .finish_non_exhaustive()
    }
}

impl CallerContext {
    pub fn link_name(&self) -> String {
        self.link_name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn set_link_name(&self, name: String) {
        *self
            .link_name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = name;
    }

    pub fn take_failure(&self) -> Option<InvocationError> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Sends `import.function(payload)` through the link name in force,
    /// with what is left of this invocation's deadline.
    pub async fn route(
        &self,
        import: &str,
        function: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, InvocationError> {
        let link_name = self.link_name();
        self.router
            .call(RoutedCall {
                source: &self.actor_id,
                import,
                function,
                link_name: &link_name,
                payload,
                deadline: self.deadline_at.saturating_duration_since(Instant::now()),
                trace: self.trace.as_ref(),
            })
            .await
    }

    fn record(&self, error: InvocationError) {
        let mut slot = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(error);
    }
}

/// Defines every function of the imported instance `import` (of type
/// `instance`) as a routed call, replacing earlier definitions (the linker
/// allows shadowing; see `code::CodeRegistry::new`).
pub fn define(
    linker: &mut LinkerInstance<'_, InstanceState>,
    engine: &wasmtime::Engine,
    import: &str,
    instance: &wasmtime::component::types::ComponentInstance,
) -> wasmtime::Result<()> {
    for (function, ext) in instance.exports(engine) {
        if !matches!(ext.ty, ComponentItem::ComponentFunc(_)) {
            continue;
        }
        let (import, function) = (Arc::<str>::from(import), Arc::<str>::from(function));
        let name = function.clone();
        linker.func_new_async(&name, move |store, ty, params, results| {
            let (import, function) = (import.clone(), function.clone());
            let caller = store.data().caller.clone();
            Box::new(async move {
                let Some(caller) = caller else {
                    return Err(wasmtime::Error::msg(
                        "a routed import was called outside an invocation",
                    ));
                };
                match routed(&caller, &import, &function, &ty, params).await {
                    Ok(value) => {
                        if let (Some(slot), Some(value)) = (results.first_mut(), value) {
                            *slot = value;
                        }
                        Ok(())
                    }
                    Err(error) => {
                        let text = error.chain();
                        caller.record(error);
                        Err(wasmtime::Error::msg(text))
                    }
                }
            })
        })?;
    }
    Ok(())
}

async fn routed(
    caller: &CallerContext,
    import: &str,
    function: &str,
    ty: &wasmtime::component::types::ComponentFunc,
    params: &[Val],
) -> Result<Option<Val>, InvocationError> {
    let interface = imports::unversioned(import);
    let link_name = caller.link_name();
    let wrap = |cause: InvocationError| InvocationError {
        kind: cause.kind,
        message: format!("call of {interface}.{function} through link `{link_name}` failed"),
        cause: Some(Box::new(cause)),
    };
    let payload = codec::encode_params(Encoding::Msgpack, params, &codec::func_params(ty))
        .map_err(|e| InvocationError::new(ErrorKind::BadArguments, e.to_string()))
        .map_err(wrap)?;
    let reply = caller.route(import, function, payload).await.map_err(|e| {
        if e.kind == ErrorKind::NoLink {
            e
        } else {
            wrap(e)
        }
    })?;
    let result_type = ty.results().next();
    codec::decode_result(Encoding::Msgpack, &reply, result_type.as_ref()).map_err(|e| {
        wrap(InvocationError::new(
            ErrorKind::BadArguments,
            format!("the reply does not fit: {e}"),
        ))
    })
}
