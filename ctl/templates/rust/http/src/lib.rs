//! {{name}}: an HTTP actor, a standard `wasi:http/incoming-handler` (the
//! `wasi` crate), so it runs unchanged on any WASI 0.2 HTTP host.
//!
//! `floe dev` serves it through the http-server provider and prints the URL.

use wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

const GREETING: &str = "hello from {{name}}\n";

struct Actor;

impl wasi::exports::http::incoming_handler::Guest for Actor {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let headers = Fields::new();
        let _ = headers.append("content-type", b"text/plain");
        let response = OutgoingResponse::new(headers);
        let Ok(body) = response.body() else {
            ResponseOutparam::set(out, Err(ErrorCode::InternalError(None)));
            return;
        };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(GREETING.as_bytes());
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

wasi::http::proxy::export!(Actor);
