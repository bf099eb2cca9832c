//! One HTTP request forwarded to the linked actor: read the body within the
//! route's limits, send it across the wire ([`floe_wire::http`]), and turn
//! the answer — or the reason there is none — into a response.
//!
//! | outcome | status |
//! |---|---|
//! | the actor's response | its status, headers and body |
//! | body larger than `max_body` | 413 |
//! | body not sent within `timeout` | 408 |
//! | the actor rejected the request as malformed | 400 |
//! | no actor instance running, or all busy | 503 (`retry-after: 1`) |
//! | no answer within `timeout` | 504 |
//! | the actor failed (trap, bad response) | 500, with no internals in the body |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use floe_provider::{Context, ErrorKind, InvocationError};
use floe_wire::http::{HANDLE_OPERATION, HttpRequest, HttpResponse};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_bytes::ByteBuf;

use crate::route::Route;

/// Headers that describe one connection's framing, never an actor's to set.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "proxy-connection",
];

/// Forwards `request`, received on `local` for `route`.
pub async fn forward(
    ctx: &Context,
    route: &Route,
    local: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > route.max_body as u64) {
        return too_large(route);
    }
    let body =
        match tokio::time::timeout(route.timeout, Limited::new(body, route.max_body).collect())
            .await
        {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) if e.is::<LengthLimitError>() => return too_large(route),
            Ok(Err(_)) => return plain(StatusCode::BAD_REQUEST, "the request body broke off\n"),
            Err(_) => {
                return plain(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time\n",
                );
            }
        };
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
    let wire = HttpRequest {
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
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    ByteBuf::from(value.as_bytes().to_vec()),
                )
            })
            .collect(),
        body: ByteBuf::from(Vec::from(body)),
    };
    let left = route.timeout.saturating_sub(started.elapsed());
    let answer = ctx
        .call(
            &route.actor,
            &route.link_name,
            HANDLE_OPERATION,
            wire.to_payload(),
            left,
        )
        .await
        .and_then(|bytes| {
            HttpResponse::from_payload(&bytes)
                .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()))
        });
    match answer {
        Ok(response) => respond(response),
        Err(e) => failed(route, &e),
    }
}

/// The actor's response, with the framing headers hyper sets itself.
fn respond(wire: HttpResponse) -> Response<Full<Bytes>> {
    let Ok(status) = StatusCode::from_u16(wire.status) else {
        tracing::warn!(status = wire.status, "the actor answered an invalid status");
        return internal();
    };
    let mut response = Response::new(Full::new(Bytes::from(wire.body.into_vec())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in wire.headers {
        if HOP_BY_HOP.contains(&name.as_str()) {
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
    tracing::warn!(
        actor = %route.actor,
        address = %route.address,
        kind = e.kind.as_str(),
        "request failed: {}",
        e.message
    );
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
