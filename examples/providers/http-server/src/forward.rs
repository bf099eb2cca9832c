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
use floe_wire::http::{HANDLE_OPERATION, HttpRequest, HttpResponse};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_bytes::ByteBuf;

use crate::route::Route;

/// Headers that describe one connection's framing: never forwarded either
/// way (hyper frames each side itself).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Room kept in a NATS message for the envelope and its seal.
const ENVELOPE_ROOM: usize = 4 << 10;

/// True for a header that must not cross (`extra`: the names a
/// `Connection` header lists).
fn hop_by_hop(name: &str, extra: &[String]) -> bool {
    HOP_BY_HOP.contains(&name) || extra.iter().any(|e| e == name)
}

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
    let wire = wire_request(&parts, body, local);
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
    match tokio::time::timeout(route.timeout, Limited::new(body, route.max_body).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large(route)),
        Ok(Err(_)) => Err(plain(
            StatusCode::BAD_REQUEST,
            "the request body broke off\n",
        )),
        Err(_) => Err(plain(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time\n",
        )),
    }
}

/// The request as it crosses the wire: its authority (the URI's, else
/// `Host`, else the address it came in on) and its end-to-end headers.
fn wire_request(
    parts: &hyper::http::request::Parts,
    body: Bytes,
    local: SocketAddr,
) -> HttpRequest {
    let authority = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            parts
                .headers
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| local.to_string());
    // Names a `Connection` header lists are hop-by-hop too.
    let listed: Vec<String> = parts
        .headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    HttpRequest {
        method: parts.method.as_str().to_owned(),
        scheme: "http".to_owned(),
        authority,
        path_with_query: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| !hop_by_hop(name.as_str(), &listed))
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    ByteBuf::from(value.as_bytes().to_vec()),
                )
            })
            .collect(),
        body: ByteBuf::from(Vec::from(body)),
    }
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

/// The actor's response, with the framing headers hyper sets itself.
fn respond(wire: HttpResponse) -> Response<Full<Bytes>> {
    // 1xx would leave the connection in an interim or upgrade state.
    let Some(status) = StatusCode::from_u16(wire.status)
        .ok()
        .filter(|s| !s.is_informational())
    else {
        tracing::warn!(status = wire.status, "the actor answered an invalid status");
        return internal();
    };
    let mut response = Response::new(Full::new(Bytes::from(wire.body.into_vec())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in wire.headers {
        if hop_by_hop(&name, &[]) || name == "content-length" {
            continue;
        }
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::debug!(%name, "dropped an invalid header from the actor's response"),
        }
    }
    response
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
    match e.kind {
        ErrorKind::TimedOut => plain(
            StatusCode::GATEWAY_TIMEOUT,
            "the actor did not answer in time\n",
        ),
        ErrorKind::NotFound | ErrorKind::Busy => {
            let mut response = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "no actor instance is available for this route; try again\n",
            );
            response
                .headers_mut()
                .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        ErrorKind::BadArguments => plain(StatusCode::BAD_REQUEST, "malformed request\n"),
        _ => internal(),
    }
}

fn internal() -> Response<Full<Bytes>> {
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n")
}

fn too_large(route: &Route) -> Response<Full<Bytes>> {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than {} bytes\n", route.max_body),
    )
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Shared by every connection of one listener.
#[derive(Debug)]
pub struct Forwarder {
    pub ctx: Arc<Context>,
    pub route: Route,
    pub local: SocketAddr,
}
