//! An HTTP request and response as the `http` crate holds them, to and
//! from their wire form: one implementation for the `http-server`
//! provider and the hosts' ingress. Headers that describe one connection's
//! framing (hop-by-hop) never cross either way.

use bytes::Bytes;
use serde_bytes::ByteBuf;

use super::{HttpRequest, HttpResponse};

/// Headers that describe one connection's framing: never forwarded either
/// way (each side frames its own connection).
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

/// True for a header that must not cross (`extra`: the names a
/// `Connection` header lists).
pub fn hop_by_hop(name: &str, extra: &[String]) -> bool {
    HOP_BY_HOP.contains(&name) || extra.iter().any(|e| e == name)
}

/// The request as it crosses the wire: its authority (the URI's, else
/// `Host`, else `fallback`), its path (or `path` when given: a stripped
/// prefix), its end-to-end headers, then `added` (such as
/// `x-forwarded-for`, replacing any the client sent).
pub fn wire_request(
    parts: &http::request::Parts,
    body: Bytes,
    scheme: &str,
    fallback: &str,
    path: Option<String>,
    added: &[(&str, String)],
) -> HttpRequest {
    let authority = authority(parts).unwrap_or(fallback).to_owned();
    let listed: Vec<String> = parts
        .headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let mut headers: Vec<(String, ByteBuf)> = parts
        .headers
        .iter()
        .filter(|(name, _)| {
            !hop_by_hop(name.as_str(), &listed) && !added.iter().any(|(a, _)| *a == name.as_str())
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                ByteBuf::from(value.as_bytes().to_vec()),
            )
        })
        .collect();
    headers.extend(
        added
            .iter()
            .map(|(name, value)| ((*name).to_owned(), ByteBuf::from(value.as_bytes().to_vec()))),
    );
    HttpRequest {
        method: parts.method.as_str().to_owned(),
        scheme: scheme.to_owned(),
        authority,
        path_with_query: path.unwrap_or_else(|| {
            parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
        }),
        headers,
        body: ByteBuf::from(Vec::from(body)),
    }
}

/// The request's authority: the URI's, else its `Host` header.
pub fn authority(parts: &http::request::Parts) -> Option<&str> {
    parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .filter(|a| !a.is_empty())
}

/// The actor's response, without the framing headers the server sets
/// itself; `None` when its status is not a final HTTP status.
pub fn response(wire: HttpResponse) -> Option<http::Response<Bytes>> {
    // 1xx would leave the connection in an interim or upgrade state.
    let status = http::StatusCode::from_u16(wire.status)
        .ok()
        .filter(|s| !s.is_informational())?;
    let mut response = http::Response::new(Bytes::from(wire.body.into_vec()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in wire.headers {
        if hop_by_hop(&name, &[]) || name == "content-length" {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }
    Some(response)
}

/// The response to a request whose invocation failed with `kind`, with
/// no internals: 504 for a deadline, 503 (`retry-after: 1`) when no
/// instance is there or free, 400 for a request the actor could not take,
/// else 500.
pub fn failure(kind: crate::ErrorKind) -> http::Response<Bytes> {
    use crate::ErrorKind;
    match kind {
        ErrorKind::TimedOut => plain(
            http::StatusCode::GATEWAY_TIMEOUT,
            "the actor did not answer in time\n",
        ),
        ErrorKind::NotFound | ErrorKind::Busy => {
            let mut response = plain(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "no actor instance is available for this route; try again\n",
            );
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            response
        }
        ErrorKind::BadArguments => plain(http::StatusCode::BAD_REQUEST, "malformed request\n"),
        _ => plain(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal server error\n",
        ),
    }
}

/// Why a request's body was not read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// Larger than `max` bytes.
    TooLarge { max: usize },
    /// The client stopped sending it.
    BrokeOff,
    /// It did not arrive in time.
    TimedOut,
}

/// The response to a request whose body was not read whole: 413, 400 or
/// 408, saying which limit was broken.
pub fn body_refused(fault: BodyFault) -> http::Response<Bytes> {
    match fault {
        BodyFault::TooLarge { max } => plain(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than {max} bytes\n"),
        ),
        BodyFault::BrokeOff => plain(
            http::StatusCode::BAD_REQUEST,
            "the request body broke off\n",
        ),
        BodyFault::TimedOut => plain(
            http::StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time\n",
        ),
    }
}

/// A short plain-text response.
pub fn plain(status: http::StatusCode, text: &str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(text.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_headers_stay_and_forwarding_headers_replace_the_clients() {
        let request = http::Request::builder()
            .uri("/a?x=1")
            .header("host", "b.example.com")
            .header("connection", "keep-alive, x-private")
            .header("x-private", "1")
            .header("x-forwarded-for", "6.6.6.6")
            .header("accept", "*/*")
            .body(())
            .expect("request");
        let (parts, ()) = request.into_parts();
        let wire = wire_request(
            &parts,
            Bytes::from_static(b"hi"),
            "https",
            "127.0.0.1:1",
            None,
            &[("x-forwarded-for", "10.0.0.1".into())],
        );
        assert_eq!(wire.authority, "b.example.com");
        assert_eq!(wire.scheme, "https");
        assert_eq!(wire.path_with_query, "/a?x=1");
        let names: Vec<&str> = wire.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["host", "accept", "x-forwarded-for"]);
        assert_eq!(wire.headers[2].1.as_slice(), b"10.0.0.1");
        let back = response(HttpResponse {
            status: 201,
            headers: vec![
                (
                    "transfer-encoding".into(),
                    ByteBuf::from(b"chunked".to_vec()),
                ),
                ("x-ok".into(), ByteBuf::from(b"1".to_vec())),
            ],
            body: ByteBuf::from(b"made".to_vec()),
        })
        .expect("a final status");
        assert_eq!(back.status(), 201);
        assert!(back.headers().get("transfer-encoding").is_none());
        assert_eq!(back.headers()["x-ok"], "1");
        let interim = HttpResponse {
            status: 101,
            headers: vec![],
            body: ByteBuf::new(),
        };
        assert!(response(interim).is_none());
    }
}
