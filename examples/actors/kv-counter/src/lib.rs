//! The kv-counter actor, the HTTP demo: `GET /counter/{name}` adds one to
//! the counter `name` in the `wasi:keyvalue` bucket `counters`, atomically
//! (`wasi:keyvalue/atomics.increment`), and answers the new value (`1\n`).
//! Other paths get `404`, other methods `405`, a keyvalue failure `500`.
//!
//! The HTTP side is the standard `wasi:http/incoming-handler` (the `wasi`
//! crate); the keyvalue imports come from the WIT vendored for the `counter`
//! actor, in a world of their own so the two bindings never meet. The
//! actor holds nothing itself: every replica on every host counts alike.

/// Bindings for the two `wasi:keyvalue` imports, kept in a module so the
/// generated `wasi` module does not shadow the `wasi` crate.
mod kv {
    wit_bindgen::generate!({
        inline: "
            package floe-examples:kv-counter;

            world kv-counter-imports {
                import wasi:keyvalue/store@0.2.0-draft;
                import wasi:keyvalue/atomics@0.2.0-draft;
            }
        ",
        path: "../../../interfaces/wit/examples/deps/wasi-keyvalue",
        world: "kv-counter-imports",
        generate_all,
    });
}

use kv::wasi::keyvalue::{atomics, store};
use wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasi::io::streams::OutputStream;

const BUCKET: &str = "counters";

struct KvCounter;

impl wasi::exports::http::incoming_handler::Guest for KvCounter {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let route = path.split_once('?').map_or(path.as_str(), |(p, _)| p);
        let Some(name) = route.strip_prefix("/counter/").filter(|n| is_name(n)) else {
            respond(out, 404, b"not found: try GET /counter/{name}\n");
            return;
        };
        if !matches!(request.method(), Method::Get) {
            respond(out, 405, b"method not allowed: use GET\n");
            return;
        }
        match increment(name) {
            Ok(value) => respond(out, 200, format!("{value}\n").as_bytes()),
            Err(e) => {
                // The reason names links and providers: for the log (stderr
                // reaches the host log and the actor's log stream), not for
                // the client.
                eprintln!("counter {name}: keyvalue failed: {e}");
                respond(out, 500, b"internal error\n");
            }
        }
    }
}

/// A counter name: one non-empty path segment.
fn is_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/')
}

fn increment(name: &str) -> Result<u64, String> {
    let bucket = store::open(BUCKET).map_err(describe)?;
    atomics::increment(&bucket, name, 1).map_err(describe)
}

fn describe(e: store::Error) -> String {
    match e {
        store::Error::NoSuchStore => "no such store".to_owned(),
        store::Error::AccessDenied => format!("access to bucket `{BUCKET}` denied"),
        store::Error::Other(text) => text,
    }
}

/// Answers `status` with a `text/plain` body.
fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let fields = Fields::new();
    let _ = fields.append("content-type", b"text/plain");
    let response = OutgoingResponse::new(fields);
    if status != 200 {
        // 200 is the default: one host call fewer on the common path.
        let _ = response.set_status_code(status);
    }
    let Ok(outgoing) = response.body() else {
        ResponseOutparam::set(out, Err(ErrorCode::InternalError(None)));
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    let Ok(stream) = outgoing.write() else {
        return;
    };
    let written = write_all(&stream, body);
    drop(stream);
    if written {
        let _ = OutgoingBody::finish(outgoing, None);
    }
}

/// Writes `bytes` within the stream's write budget, waiting only when the
/// budget is spent; false if the stream failed.
fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let budget = match stream.check_write() {
            Ok(0) => {
                stream.subscribe().block();
                continue;
            }
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(_) => return false,
        };
        let (now, rest) = bytes.split_at(budget.min(bytes.len()));
        if stream.write(now).is_err() {
            return false;
        }
        bytes = rest;
    }
    stream.flush().is_ok()
}

wasi::http::proxy::export!(KvCounter);
