//! Imports routed by link (DESIGN.md import class 3): dynamic functions that
//! encode the arguments with the component's own types, hand them to the
//! host's [`Router`](super::Router) (which sends an envelope to the link's target), and
//! decode the reply. The runtime knows nothing of NATS; the router does.

use std::sync::Arc;

use floe_wire::{Encoding, ErrorKind, InvocationError};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{LinkerInstance, Val};

use super::caller::CallerContext;
use super::imports;
use super::state::InstanceState;
use crate::codec;

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
