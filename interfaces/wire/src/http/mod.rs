//! How an HTTP request and its response cross the wire between the
//! `http-server` provider and an actor exporting `wasi:http/incoming-handler`
//! (docs/protocol.md, "HTTP over the lattice").
//!
//! The provider sends one invocation of [`HANDLE_OPERATION`] whose msgpack
//! payload is the one-element parameter array `[http-request]`; the host runs
//! the actor's handler through wasmtime-wasi-http and answers the result
//! `http-response`. Bodies travel whole, so both are bounded by the NATS
//! server's max payload (the provider refuses larger requests with 413).
//! In WIT terms:
//!
//! ```text
//! record http-request {
//!     method: string,            // "GET", "POST", … as received
//!     scheme: string,            // "http" or "https"
//!     authority: string,         // from the Host header (or the listener)
//!     path-with-query: string,   // "/counter/a?x=1"
//!     headers: list<tuple<string, list<u8>>>,  // in order, names lowercase
//!     body: list<u8>,
//! }
//! record http-response {
//!     status: u16,
//!     headers: list<tuple<string, list<u8>>>,
//!     body: list<u8>,
//! }
//! ```
//!
//! Both are plain records, so the serde form of the wire mapping
//! ([`crate::values`]) and rmp-serde write the same bytes; rmp-serde is used
//! for speed (this is the hot path of every HTTP request) and a test pins
//! the equivalence.

pub mod parts;

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The WIT package of HTTP links.
pub const PACKAGE: &str = "wasi:http";
/// The interface (of [`PACKAGE`]) an HTTP-serving actor exports.
pub const INCOMING_HANDLER_INTERFACE: &str = "incoming-handler";
/// The source-config key of an HTTP link naming the address to listen on.
pub const ADDRESS_KEY: &str = "address";
/// The most headers a request may carry across the wire.
pub const MAX_HEADERS: usize = 1024;
/// The operation the provider invokes (version ignored, as everywhere).
pub const HANDLE_OPERATION: &str = "wasi:http/incoming-handler.handle";

/// A header: its name (lowercase) and its value's bytes.
pub type Header = (String, ByteBuf);

/// An HTTP request, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub scheme: String,
    pub authority: String,
    pub path_with_query: String,
    pub headers: Vec<Header>,
    pub body: ByteBuf,
}

/// An HTTP response, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: ByteBuf,
}

/// A payload that is not an HTTP request or response.
#[derive(Debug, thiserror::Error)]
#[error("not a {what}: {reason}")]
pub struct HttpWireError {
    what: &'static str,
    reason: String,
}

/// The address an HTTP link asks its source to listen on: `None` for a
/// link that is not a `wasi:http/incoming-handler` link or names no valid
/// `IP:PORT`.
pub fn listen_address(link: &crate::Link) -> Option<SocketAddr> {
    let serves = link.package == PACKAGE
        && link
            .interfaces
            .iter()
            .any(|i| i == INCOMING_HANDLER_INTERFACE);
    serves
        .then(|| link.source_config.get(ADDRESS_KEY)?.parse().ok())
        .flatten()
}

/// Whether two listeners would fight over one socket: the same port (not
/// 0, which picks a free one) on the same IP, or on any IP when either is
/// unspecified (`0.0.0.0`, `::`).
pub fn addresses_clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

impl HttpRequest {
    /// The invocation payload: the parameter array `[request]`.
    pub fn to_payload(&self) -> Vec<u8> {
        // Serializing plain strings, integers and bytes into a Vec cannot fail.
        rmp_serde::to_vec(&(self,)).unwrap_or_default()
    }

    pub fn from_payload(bytes: &[u8]) -> Result<Self, HttpWireError> {
        let (request,): (HttpRequest,) =
            rmp_serde::from_slice(bytes).map_err(|e| HttpWireError {
                what: "wasi:http request (a msgpack array [http-request])",
                reason: e.to_string(),
            })?;
        Ok(request)
    }
}

impl HttpResponse {
    /// The reply payload: the result `response`.
    pub fn to_payload(&self) -> Vec<u8> {
        rmp_serde::to_vec(self).unwrap_or_default()
    }

    pub fn from_payload(bytes: &[u8]) -> Result<Self, HttpWireError> {
        rmp_serde::from_slice(bytes).map_err(|e| HttpWireError {
            what: "wasi:http response (a msgpack http-response record)",
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            scheme: "http".into(),
            authority: "localhost:8080".into(),
            path_with_query: "/counter/a?x=1".into(),
            headers: vec![
                ("content-type".into(), ByteBuf::from(b"text/plain".to_vec())),
                ("x-bin".into(), ByteBuf::from(vec![0xff, 0x00])),
            ],
            body: ByteBuf::from(b"hello".to_vec()),
        }
    }

    #[test]
    fn requests_and_responses_round_trip() {
        let req = request();
        assert_eq!(
            HttpRequest::from_payload(&req.to_payload()).expect("decodes"),
            req
        );
        let resp = HttpResponse {
            status: 404,
            headers: vec![],
            body: ByteBuf::new(),
        };
        assert_eq!(
            HttpResponse::from_payload(&resp.to_payload()).expect("decodes"),
            resp
        );
        let err = HttpRequest::from_payload(b"\x01").expect_err("not a request");
        assert!(err.to_string().contains("wasi:http request"), "{err}");
    }

    #[test]
    fn listeners_clash_on_one_port_of_one_or_any_ip() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect("addr");
        assert!(addresses_clash(addr("127.0.0.1:80"), addr("127.0.0.1:80")));
        assert!(addresses_clash(addr("0.0.0.0:80"), addr("127.0.0.1:80")));
        assert!(addresses_clash(addr("[::1]:80"), addr("[::]:80")));
        assert!(!addresses_clash(addr("127.0.0.1:80"), addr("127.0.0.2:80")));
        assert!(!addresses_clash(addr("127.0.0.1:80"), addr("127.0.0.1:81")));
        assert!(!addresses_clash(addr("127.0.0.1:0"), addr("127.0.0.1:0")));
        let mut link = crate::Link::new("V", "M", PACKAGE, &[INCOMING_HANDLER_INTERFACE]);
        assert_eq!(listen_address(&link), None);
        link.source_config
            .insert(ADDRESS_KEY.into(), "127.0.0.1:8080".into());
        assert_eq!(listen_address(&link), Some(addr("127.0.0.1:8080")));
        link.package = "acme:web".into();
        assert_eq!(listen_address(&link), None, "only wasi:http links listen");
    }

    #[test]
    fn bytes_are_the_wire_mapping() {
        let req = request();
        assert_eq!(
            req.to_payload(),
            crate::values::to_vec(&(&req,)).expect("mapping")
        );
        let resp = HttpResponse {
            status: 200,
            headers: vec![("a".into(), ByteBuf::from(b"b".to_vec()))],
            body: ByteBuf::from(b"1\n".to_vec()),
        };
        assert_eq!(
            resp.to_payload(),
            crate::values::to_vec(&resp).expect("mapping")
        );
    }
}
