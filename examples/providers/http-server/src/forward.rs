//! One HTTP request forwarded to the linked actor: read the body within the
//! route's limits, send it across the wire ([`floe_wire::http`]), and turn
//! the answer — or the reason there is none — into a response.
//!
//! | outcome | status |
//! |---|---|
//! | the actor's response | its status, headers and body |
//! | `CONNECT` (no tunnels) | 405 |
//! | body larger than `max_body`, or the request larger than a NATS message | 413 |
//! | body not sent within `timeout` | 408 |
//! | the actor rejected the request as malformed | 400 |
//! | no actor instance running, or all busy | 503 (`retry-after: 1`) |
//! | no answer within `timeout` | 504 |
//! | the actor failed (trap, bad response) | 500, with no internals in the body |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use floe_provider::{Context, ErrorKind, InvocationError, TraceContext};
use floe_wire::http::parts::BodyFault;
use floe_wire::http::{HANDLE_OPERATION, HttpResponse, parts};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::route::Route;

/// Room kept in a NATS message for the envelope and its seal.
const ENVELOPE_ROOM: usize = 4 << 10;

/// Forwards `request`, received on `local` for `route`.
pub async fn forward(
    ctx: &Context,
    route: &Route,
    local: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    if request.method() == hyper::Method::CONNECT {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not served here\n",
        );
    }
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > route.max_body as u64) {
        return too_large(route);
    }
    let body = match read_body(route, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let wire = parts::wire_request(&parts, body, "http", &local.to_string(), None, &[]);
    let payload = wire.to_payload();
    if payload.len() + ENVELOPE_ROOM > ctx.nats().server_info().max_payload {
        return too_large(route);
    }
    let left = route.timeout.saturating_sub(started.elapsed());
    if left < Duration::from_millis(1) {
        // An envelope's zero deadline means "the host's default": never send one.
        return plain(
            StatusCode::GATEWAY_TIMEOUT,
            "the actor did not answer in time\n",
        );
    }
    let (span, client_span) = span_for(&parts.headers, route);
    let answer = ctx
        .call(
            &route.actor,
            &route.link_name,
            HANDLE_OPERATION,
            payload,
            left,
            Some(&span),
        )
        .await
        .and_then(|bytes| {
            HttpResponse::from_payload(&bytes)
                .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()))
        });
    let response = match answer {
        Ok(response) => respond(response),
        Err(e) => failed(route, &e),
    };
    if span.sampled {
        tracing::info!(
            trace_id = %span.trace_id,
            span_id = %span.span_id,
            parent_span = client_span.as_ref().map_or("", |p| p.span_id.as_str()),
            method = %parts.method,
            path = %parts.uri.path(),
            status = response.status().as_u16(),
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "span"
        );
    }
    response
}

/// The request's body, whole, within the route's size and time limits;
/// else the response that says which was broken.
async fn read_body(route: &Route, body: Incoming) -> Result<Bytes, Response<Full<Bytes>>> {
    let max = route.max_body;
    let fault = match tokio::time::timeout(route.timeout, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => return Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => BodyFault::TooLarge { max },
        Ok(Err(_)) => BodyFault::BrokeOff,
        Err(_) => BodyFault::TimedOut,
    };
    Err(parts::body_refused(fault).map(Full::new))
}

/// The request's span: in the client's trace when it sent a `traceparent`,
/// else a new trace (recorded only when sampled); and the client's span.
/// The client may join a trace; it may ask for recording (every process on
/// the way logs its span) only where the link allows it.
fn span_for(headers: &hyper::HeaderMap, route: &Route) -> (TraceContext, Option<TraceContext>) {
    let client_span = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .map(|mut span| {
            span.sampled &= route.sample_client_traces;
            span
        });
    let span = client_span
        .as_ref()
        .map_or_else(|| TraceContext::root(false), TraceContext::child);
    (span, client_span)
}

/// The actor's response as hyper sends it.
fn respond(wire: HttpResponse) -> Response<Full<Bytes>> {
    match parts::response(wire) {
        Some(response) => response.map(Full::new),
        None => {
            tracing::warn!("the actor answered an informational or invalid status");
            internal()
        }
    }
}

fn failed(route: &Route, e: &InvocationError) -> Response<Full<Bytes>> {
    if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Busy) {
        // Expected while an actor starts or scales: not worth a warning each.
        tracing::debug!(actor = %route.actor, kind = e.kind.as_str(), "{}", e.message);
    } else {
        tracing::warn!(
            actor = %route.actor,
            address = %route.address,
            kind = e.kind.as_str(),
            "request failed: {}",
            e.message
        );
    }
    parts::failure(e.kind).map(Full::new)
}

fn internal() -> Response<Full<Bytes>> {
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n")
}

fn too_large(route: &Route) -> Response<Full<Bytes>> {
    parts::body_refused(BodyFault::TooLarge {
        max: route.max_body,
    })
    .map(Full::new)
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    parts::plain(status, text).map(Full::new)
}

/// Shared by every connection of one listener.
#[derive(Debug)]
pub struct Forwarder {
    pub ctx: Arc<Context>,
    pub route: Route,
    pub local: SocketAddr,
}
