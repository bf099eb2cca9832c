//! One ingress request: match it against the routes in force, read its
//! body within the limits, and run it on the target's replica here (in
//! process, no NATS) when one has a free instance, else send it over the
//! lattice to another replica. The actor sees `X-Forwarded-For`, `-Host`
//! and `-Proto`, and a `traceparent` in the request's trace.
//!
//! | outcome | status |
//! |---|---|
//! | no route | 404, a short JSON body |
//! | a path with `.` or `..` segments | 400 |
//! | body over the limit | 413 |
//! | body not sent in time | 408 |
//! | no replica, or all busy | 503 with `retry-after: 1` |
//! | no answer in time | 504 |
//! | the actor failed | 500, no internals |

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use floe_wire::envelope::Origin;
use floe_wire::http::parts::BodyFault;
use floe_wire::http::{HANDLE_OPERATION, HttpResponse, parts};
use floe_wire::ingress::{Request as RouteRequest, Route};
use floe_wire::trace::TraceContext;
use floe_wire::{Encoding, Envelope, ErrorKind, InvocationError};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::Ingress;
use crate::metrics::IngressVia;

/// Serves one request received from `peer` on `local`.
pub async fn handle(
    ingress: &Ingress,
    peer: SocketAddr,
    local: SocketAddr,
    scheme: &'static str,
    request: http::Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (head, body) = request.into_parts();
    let table = ingress.table();
    let host = parts::authority(&head).unwrap_or_default().to_owned();
    let lookup = |name: &str| head.headers.get(name).and_then(|v| v.to_str().ok());
    let found = table.find(&RouteRequest {
        host: &host,
        path: head.uri.path(),
        method: head.method.as_str(),
        header: &lookup,
    });
    if head.uri.path().split('/').any(|s| s == "." || s == "..") {
        return plain(StatusCode::BAD_REQUEST, "the path has dot segments\n");
    }
    let Some((route, _)) = found else {
        ingress.metrics.ingress(IngressVia::Unrouted);
        return no_route(&host, head.uri.path());
    };
    if scheme == "http"
        && route.https_redirect
        && !host.is_empty()
        && let Some(port) = ingress.tls_port.get()
    {
        return redirect(&host, *port, &head.uri);
    }
    let timeout = route
        .timeout_ms
        .map_or(ingress.settings.request_timeout, Duration::from_millis);
    let body = match read_body(ingress.settings.max_body, timeout, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let span = head
        .headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .map_or_else(|| TraceContext::root(false), |parent| parent.child());
    let forwarded_for = match head
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    let path = route.forwarded_path(head.uri.path_and_query().map_or("/", |p| p.as_str()));
    let wire = parts::wire_request(
        &head,
        body,
        scheme,
        &local.to_string(),
        Some(path),
        &[
            ("x-forwarded-for", forwarded_for),
            ("x-forwarded-host", host.clone()),
            ("x-forwarded-proto", scheme.to_owned()),
            ("traceparent", span.header()),
        ],
    );
    let payload = wire.to_payload();
    let left = timeout.saturating_sub(started.elapsed());
    let target = route.pick(fastrand::u32(0..100));
    let answer = run(ingress, route, target, &payload, left, &span).await;
    match answer.and_then(|bytes| {
        HttpResponse::from_payload(&bytes)
            .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()))
    }) {
        Ok(response) => match parts::response(response) {
            Some(response) => response.map(Full::new),
            None => {
                tracing::warn!(route = %route.name, "the actor answered an informational or invalid status");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n")
            }
        },
        Err(e) => failed(route, target, &e),
    }
}

/// Runs the request on a replica of `target` here when one has a free
/// instance, else over the lattice.
async fn run(
    ingress: &Ingress,
    route: &Route,
    target: &str,
    payload: &[u8],
    left: Duration,
    span: &TraceContext,
) -> Result<Vec<u8>, InvocationError> {
    if let Some(handle) = ingress.actors.get(target)
        && !handle.is_stopped()
        && let Some(result) = ingress
            .serving
            .call_here(&handle, HANDLE_OPERATION, payload, left, span)
            .await
    {
        ingress.metrics.ingress(IngressVia::Local);
        return result.map(|answer| answer.bytes);
    }
    ingress.metrics.ingress(IngressVia::Lattice);
    // A request larger than one NATS message crosses through the
    // lattice's payload store (the requester spills it).
    let envelope = Envelope::request(
        Origin {
            entity: format!("ingress:{}", route.name),
            link_name: None,
            host: Some(ingress.serving.bus.host_id().to_owned()),
        },
        target,
        HANDLE_OPERATION,
        payload.to_vec(),
        Encoding::Msgpack,
        left,
    )
    .traced(Some(span));
    ingress.requester.invoke(envelope, left).await
}

/// The request's body, whole, within the size and time limits; else the
/// response that says which was broken.
async fn read_body(
    max: usize,
    timeout: Duration,
    body: Incoming,
) -> Result<Bytes, Response<Full<Bytes>>> {
    let fault = match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => return Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => BodyFault::TooLarge { max },
        Ok(Err(_)) => BodyFault::BrokeOff,
        Err(_) => BodyFault::TimedOut,
    };
    Err(parts::body_refused(fault).map(Full::new))
}

fn failed(route: &Route, target: &str, e: &InvocationError) -> Response<Full<Bytes>> {
    if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Busy) {
        tracing::debug!(route = %route.name, kind = e.kind.as_str(), "{}", e.message);
    } else {
        tracing::warn!(route = %route.name, %target, kind = e.kind.as_str(), "request failed: {}", e.message);
    }
    parts::failure(e.kind).map(Full::new)
}

/// A permanent redirect to the same URL over HTTPS.
fn redirect(host: &str, port: u16, uri: &http::Uri) -> Response<Full<Bytes>> {
    let name = floe_wire::ingress::normal_host(host);
    let port = if port == 443 {
        String::new()
    } else {
        format!(":{port}")
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{name}{port}{path}");
    let mut response = plain(StatusCode::PERMANENT_REDIRECT, "use HTTPS\n");
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}

fn no_route(host: &str, path: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"error": "no route", "host": host, "path": path}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body + "\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    parts::plain(status, text).map(Full::new)
}
