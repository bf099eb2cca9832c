//! `wasi:http` for actors, through wasmtime-wasi-http.
//!
//! - Incoming: an [`HttpRequest`] that crossed the wire becomes a
//!   `wasi:http/types.incoming-request`; the actor's
//!   `wasi:http/incoming-handler.handle` runs on the invocation's fresh
//!   instance while its response body is drained concurrently, and the
//!   whole response comes back as an [`HttpResponse`].
//! - Outgoing: `http_hooks::HttpHooks`, set per invocation.

use bytes::Bytes;
use floe_wire::http::{HttpRequest, HttpResponse, MAX_HEADERS};
use floe_wire::{ErrorKind, InvocationError};
use http_body_util::{BodyExt, Full, Limited};
use serde_bytes::ByteBuf;
use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, Instance, Resource, ResourceTable};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};

use super::state::InstanceState;

/// The largest response body an actor may produce: a reply must fit in one
/// NATS message (1 MiB by default) with its envelope.
pub const MAX_RESPONSE_BODY: usize = 960 << 10;

/// A request as hyper sees it, checked before any instance is made.
pub struct IncomingRequest {
    scheme: Scheme,
    pub(super) request: http::Request<Full<Bytes>>,
}

impl std::fmt::Debug for IncomingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingRequest")
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .finish_non_exhaustive()
    }
}

fn bad(reason: impl std::fmt::Display) -> InvocationError {
    InvocationError::new(
        ErrorKind::BadArguments,
        format!("not a valid HTTP request: {reason}"),
    )
}

/// Decodes a wire request into one the handler can take.
pub fn decode_request(payload: &[u8]) -> Result<IncomingRequest, InvocationError> {
    let wire = HttpRequest::from_payload(payload).map_err(bad)?;
    let scheme = match wire.scheme.as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    if wire.authority.is_empty() {
        return Err(bad("the authority (Host) is empty"));
    }
    let path = if wire.path_with_query.is_empty() {
        "/"
    } else {
        wire.path_with_query.as_str()
    };
    let uri = http::Uri::builder()
        .scheme(wire.scheme.as_str())
        .authority(wire.authority.as_str())
        .path_and_query(path)
        .build()
        .map_err(bad)?;
    let method = http::Method::from_bytes(wire.method.as_bytes()).map_err(bad)?;
    let mut request = http::Request::new(Full::new(Bytes::from(wire.body.into_vec())));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    if wire.headers.len() > MAX_HEADERS {
        return Err(bad(format!(
            "{} headers (at most {MAX_HEADERS})",
            wire.headers.len()
        )));
    }
    let headers = request.headers_mut();
    headers.try_reserve(wire.headers.len()).map_err(bad)?;
    for (name, value) in wire.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(bad)?;
        let value = http::HeaderValue::from_bytes(&value).map_err(bad)?;
        headers.try_append(name, value).map_err(bad)?;
    }
    Ok(IncomingRequest { scheme, request })
}

/// How one run of the handler ended, when the guest itself did not fail.
pub(super) type Handled = Result<Vec<u8>, InvocationError>;

/// Runs the incoming handler of `instance` (`handle`, the export at
/// `index`) on `request`, draining the response body while the guest
/// writes it. The guest's own failure (a trap) is the outer error; with
/// the outcome comes whether the call left no resource behind in the
/// store (an instance that did may not serve another call).
pub async fn handle(
    store: &mut Store<InstanceState>,
    instance: Instance,
    handle: ComponentExportIndex,
    request: IncomingRequest,
) -> wasmtime::Result<(Handled, bool)> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let (req, out) = {
        let mut view = store.data_mut().http();
        let req = view.new_incoming_request(request.scheme, request.request)?;
        let out = view.new_response_outparam(sender)?;
        (req, out)
    };
    let func = instance.get_typed_func::<(
        Resource<HostIncomingRequest>,
        Resource<HostResponseOutparam>,
    ), ()>(&mut *store, handle)?;
    let guest = async {
        let ran = func.call_async(&mut *store, (req, out)).await;
        // Whatever the guest left open (a response never set, a body never
        // finished) is dropped here, so the drain below always ends.
        let clean = store.data().table.is_empty();
        if !clean {
            drop(std::mem::replace(
                &mut store.data_mut().table,
                ResourceTable::new(),
            ));
        }
        ran.map(|()| clean)
    };
    let response = async {
        match receiver.await {
            Ok(Ok(response)) => collect(response).await,
            Ok(Err(code)) => Err(InvocationError::new(
                ErrorKind::Trapped,
                format!("the handler answered with the error {code:?}"),
            )),
            Err(_) => Err(InvocationError::new(
                ErrorKind::Trapped,
                "the handler returned without setting a response",
            )),
        }
    };
    let (ran, response) = futures::join!(guest, response);
    Ok((response, ran?))
}

/// The whole response (of either WASI version), as the wire carries it.
pub(super) async fn collect<B>(response: http::Response<B>) -> Handled
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BODY)
        .collect()
        .await
        .map_err(|e| {
            let too_large = e.is::<http_body_util::LengthLimitError>();
            InvocationError::new(
                if too_large {
                    ErrorKind::Internal
                } else {
                    ErrorKind::Trapped
                },
                if too_large {
                    format!("the response body exceeds {MAX_RESPONSE_BODY} bytes")
                } else {
                    format!("the response body did not finish: {e}")
                },
            )
        })?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                ByteBuf::from(value.as_bytes().to_vec()),
            )
        })
        .collect();
    Ok(HttpResponse {
        status: parts.status.as_u16(),
        headers,
        body: ByteBuf::from(Vec::from(body)),
    }
    .to_payload())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(scheme: &str, authority: &str, path: &str) -> Vec<u8> {
        HttpRequest {
            method: "GET".into(),
            scheme: scheme.into(),
            authority: authority.into(),
            path_with_query: path.into(),
            headers: vec![("x-a".into(), ByteBuf::from(b"1".to_vec()))],
            body: ByteBuf::new(),
        }
        .to_payload()
    }

    fn too_many_headers() -> Vec<u8> {
        HttpRequest {
            method: "GET".into(),
            scheme: "http".into(),
            authority: "h".into(),
            path_with_query: "/".into(),
            headers: vec![("x".into(), ByteBuf::new()); MAX_HEADERS + 1],
            body: ByteBuf::new(),
        }
        .to_payload()
    }

    #[test]
    fn requests_are_checked_before_any_instance() {
        let ok = decode_request(&wire("http", "localhost:8080", "/a?b=c")).expect("valid");
        assert_eq!(ok.request.uri(), "http://localhost:8080/a?b=c");
        assert_eq!(ok.request.headers()["x-a"], "1");
        let root = decode_request(&wire("http", "h", "")).expect("valid");
        assert_eq!(root.request.uri().path(), "/");
        for (payload, why) in [
            (wire("http", "", "/"), "authority"),
            (wire("http", "a b", "/"), "authority"),
            (b"\x91\x01".to_vec(), "wasi:http request"),
            (too_many_headers(), "headers"),
        ] {
            let err = decode_request(&payload).expect_err(why);
            assert_eq!(err.kind, ErrorKind::BadArguments);
            assert!(err.message.contains("not a valid HTTP request"), "{err}");
        }
    }
}
