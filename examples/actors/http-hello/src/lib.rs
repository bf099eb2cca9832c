//! The http-hello actor: a `wasi:http/incoming-handler` written against the
//! standard WASI 0.2 WIT alone (the `wasi` crate, no Floe crate or WIT), so
//! it runs unchanged on any WASI HTTP host. It serves:
//!
//! - `GET /` and any path not below: `200 hello from floe\n` (the
//!   benchmark's hello-world, kept as cheap as possible);
//! - `POST /echo`: the request body back, with `x-echo-length`;
//! - `GET /fetch?url=URL`: an outgoing GET of `URL` through
//!   `wasi:http/outgoing-handler`, its body back with `200`, or `502` and
//!   `outgoing request failed: {error:?}` when the host refuses it (no
//!   `wasi:http/outgoing-handler` claim: `HttpRequestDenied`) or it fails;
//! - `GET /panic`: panics (a trap: the host answers `500`);
//! - `GET /spin`: never returns (the host's deadline interrupts it);
//! - `GET /headers`: `method path authority`, then each request header as
//!   `name: value`, names lowercase and sorted — what crossed the wire.
//!
//! Nothing a request carries makes the actor panic: bad input gets a `4xx`.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest,
    OutgoingResponse, ResponseOutparam, Scheme,
};
use wasi::io::streams::{InputStream, OutputStream, StreamError};

const HELLO: &[u8] = b"hello from floe\n";
const TEXT: &[(&str, &[u8])] = &[("content-type", b"text/plain")];
/// The largest body `POST /echo` and `GET /fetch` hold in memory.
const MAX_BODY: usize = 16 << 20;

struct HttpHello;

impl wasi::exports::http::incoming_handler::Guest for HttpHello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        // The path alone decides the route, so the hello-world path asks the
        // host for nothing more.
        let path = request.path_with_query().unwrap_or_default();
        let (route, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
        match route {
            "/echo" if is(&request, Method::Post) => echo(&request, out),
            "/fetch" if is(&request, Method::Get) => fetch(query, out),
            "/headers" if is(&request, Method::Get) => headers(&request, &path, out),
            "/panic" if is(&request, Method::Get) => panic!("GET /panic asked for a trap"),
            "/spin" if is(&request, Method::Get) => spin(),
            _ => respond(out, 200, TEXT, HELLO),
        }
    }
}

fn is(request: &IncomingRequest, expected: Method) -> bool {
    matches!(
        (request.method(), expected),
        (Method::Get, Method::Get) | (Method::Post, Method::Post)
    )
}

/// Answers with `status`, `headers` and `body` as one response.
fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &[u8])], body: &[u8]) {
    let fields = Fields::new();
    for (name, value) in headers {
        // Our own header names and values are valid; one that is not is
        // left out rather than failing the response.
        let _ = fields.append(name, value);
    }
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
    // The body's stream must be gone before the body is finished.
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

/// Why a body could not be read whole.
enum ReadError {
    TooLarge,
    Failed(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge => write!(f, "body larger than {MAX_BODY} bytes"),
            ReadError::Failed(e) => f.write_str(e),
        }
    }
}

/// Reads an incoming body (request or response) to its end, at most
/// `MAX_BODY` bytes.
fn read_body(body: IncomingBody) -> Result<Vec<u8>, ReadError> {
    let stream = body
        .stream()
        .map_err(|()| ReadError::Failed("body stream already taken".to_owned()))?;
    let bytes = read_all(&stream);
    // The stream must be gone before the body is finished.
    drop(stream);
    drop(IncomingBody::finish(body));
    bytes
}

fn read_all(stream: &InputStream) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) if body.len() + chunk.len() > MAX_BODY => return Err(ReadError::TooLarge),
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(ReadError::Failed(
                    match wasi::http::types::http_error_code(&e) {
                        Some(code) => format!("{code:?}"),
                        None => e.to_debug_string(),
                    },
                ));
            }
        }
    }
}

fn echo(request: &IncomingRequest, out: ResponseOutparam) {
    let body = match request.consume() {
        Ok(body) => read_body(body),
        Err(()) => Err(ReadError::Failed(
            "request body already consumed".to_owned(),
        )),
    };
    match body {
        Ok(body) => {
            let length = body.len().to_string();
            let headers: &[(&str, &[u8])] = &[
                ("content-type", b"application/octet-stream"),
                ("x-echo-length", length.as_bytes()),
            ];
            respond(out, 200, headers, &body);
        }
        Err(e @ ReadError::TooLarge) => respond(out, 413, TEXT, format!("{e}\n").as_bytes()),
        Err(e) => respond(
            out,
            400,
            TEXT,
            format!("cannot read the body: {e}\n").as_bytes(),
        ),
    }
}

fn fetch(query: &str, out: ResponseOutparam) {
    let Some(url) = query_value(query, "url") else {
        respond(
            out,
            400,
            TEXT,
            b"usage: GET /fetch?url=http://host[:port]/path\n",
        );
        return;
    };
    let Some((scheme, authority, path)) = split_url(&url) else {
        respond(
            out,
            400,
            TEXT,
            b"url must be http://host[:port]/path or https://...\n",
        );
        return;
    };
    match get(scheme, authority, path) {
        Ok(Fetched {
            status,
            content_type,
            body,
        }) => {
            let status = status.to_string();
            let mut headers: Vec<(&str, &[u8])> = vec![("x-fetch-status", status.as_bytes())];
            if let Some(content_type) = &content_type {
                headers.push(("content-type", content_type));
            }
            respond(out, 200, &headers, &body);
        }
        Err(e) => respond(
            out,
            502,
            TEXT,
            format!("outgoing request failed: {e}\n").as_bytes(),
        ),
    }
}

/// What an outgoing GET brought back.
struct Fetched {
    status: u16,
    content_type: Option<Vec<u8>>,
    body: Vec<u8>,
}

/// One outgoing GET: the status, content type and whole body of the answer,
/// or the error (its `ErrorCode` in `Debug` form when the host gave one).
fn get(scheme: Scheme, authority: &str, path: &str) -> Result<Fetched, String> {
    let request = OutgoingRequest::new(Fields::new());
    let invalid = |what: &str| format!("invalid {what}");
    request
        .set_method(&Method::Get)
        .map_err(|()| invalid("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| invalid("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| invalid("path"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(format!("{e:?}")),
        Some(Err(())) => return Err("response already taken".to_owned()),
        None => return Err("no response after waiting for it".to_owned()),
    };
    let status = response.status();
    let content_type = response.headers().get("content-type").into_iter().next();
    let body = response
        .consume()
        .map_err(|()| "response body already consumed".to_owned())?;
    let body = read_body(body).map_err(|e| e.to_string())?;
    Ok(Fetched {
        status,
        content_type,
        body,
    })
}

/// Splits `http://authority/path?query` (or `https://`) into its parts.
fn split_url(url: &str) -> Option<(Scheme, &str, &str)> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return None;
    };
    let at = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(at);
    if authority.is_empty() {
        return None;
    }
    Some((scheme, authority, if path.is_empty() { "/" } else { path }))
}

/// The percent-decoded value of `key` in a query string, if present and
/// valid UTF-8.
fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| percent_decode(v))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                decoded.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            b => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

fn headers(request: &IncomingRequest, path: &str, out: ResponseOutparam) {
    let method = match request.method() {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Other(other) => other,
    };
    let authority = request.authority().unwrap_or_else(|| "-".to_owned());
    let mut lines: Vec<String> = {
        let fields = request.headers();
        fields
            .entries()
            .into_iter()
            .map(|(name, value)| {
                format!(
                    "{}: {}",
                    name.to_ascii_lowercase(),
                    String::from_utf8_lossy(&value)
                )
            })
            .collect()
    };
    lines.sort();
    let mut body = format!("{method} {path} {authority}\n");
    for line in lines {
        body.push_str(&line);
        body.push('\n');
    }
    respond(out, 200, TEXT, body.as_bytes());
}

/// Never returns: the host's deadline (epoch interruption) ends the call.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

wasi::http::proxy::export!(HttpHello);
