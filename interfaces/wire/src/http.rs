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

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The interface an HTTP-serving actor exports.
pub const INCOMING_HANDLER: &str = "wasi:http/incoming-handler";
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
