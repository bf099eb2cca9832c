//! `wasi:http@0.3.0` for actors (WASI 0.3, wasmtime-wasi-http's `p3`): the
//! same wire request as the 0.2 handler becomes a `wasi:http/types.request`
//! and the component's `wasi:http/handler.handle` (an `async func`) runs in
//! the store's event loop, which keeps running until the response body
//! the guest streams has been read whole (bounded as for 0.2).

use floe_wire::{ErrorKind, InvocationError};
use wasmtime::Store;
use wasmtime::component::{Accessor, Instance};
use wasmtime_wasi_http::p3::Request;
use wasmtime_wasi_http::p3::bindings::{Service, ServiceIndices};

use super::http::{Handled, IncomingRequest, MAX_RESPONSE_BODY, collect};
use super::state::InstanceState;

/// Runs the `wasi:http/handler` of `instance` (found by `indices`) on
/// `request`, in a store of its own. The guest's own failure (a trap) is
/// the outer error.
pub async fn handle(
    store: &mut Store<InstanceState>,
    indices: &ServiceIndices,
    instance: Instance,
    request: IncomingRequest,
) -> wasmtime::Result<Handled> {
    let service: Service = indices.load(&mut *store, &instance)?;
    store
        .run_concurrent(async |accessor| serve(accessor, &service, request).await)
        .await?
}

/// Runs `service` on `request` within a store's event loop, beside any
/// other call running there (`shared`), and reads the whole response.
pub async fn serve(
    accessor: &Accessor<InstanceState>,
    service: &Service,
    request: IncomingRequest,
) -> wasmtime::Result<Handled> {
    let mut hooks = accessor.with(|mut access| access.get().http_hooks.clone());
    let (request, io) = Request::from_http(&mut hooks, request.request);
    let answer = async {
        let response = match service.handle(accessor, request).await? {
            Ok(response) => response,
            Err(code) => {
                return Ok(Err(InvocationError::new(
                    ErrorKind::Trapped,
                    format!("the handler answered with the error {code:?}"),
                )));
            }
        };
        // The guest learns how its response went through the future
        // `wasi:http/types.response.new` gave it.
        let (sent, delivered) = tokio::sync::oneshot::channel();
        let response = accessor.with(|store| {
            // Dropped unsent (the call ended first): not delivered.
            response.into_http(store, async move {
                delivered
                    .await
                    .unwrap_or(Err(wasmtime_wasi_http::Error::HttpResponseIncomplete))
            })
        })?;
        let handled = collect(response).await;
        let _ = sent.send(match &handled {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::Internal => Err(
                wasmtime_wasi_http::Error::HttpResponseBodySize(Some(MAX_RESPONSE_BODY as u64)),
            ),
            Err(_) => Err(wasmtime_wasi_http::Error::HttpResponseIncomplete),
        });
        wasmtime::error::Ok(handled)
    };
    // The request body is fed to the guest while it answers.
    let (answer, _) = futures::join!(answer, io);
    answer
}
