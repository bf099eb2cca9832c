//! A WASI 0.3 HTTP handler: `wasi:http/handler.handle` is an `async func`
//! that answers at once and streams its body from a spawned task. It says
//! hello with the path, and on `/echo` streams the request body back.

use wasip3::http::types::{ErrorCode, Fields, Request, Response};
use wasip3::{wit_bindgen, wit_future, wit_stream};

wasip3::http::service::export!(Hello);

struct Hello;

impl wasip3::exports::http::handler::Guest for Hello {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let path = request.get_path_with_query().unwrap_or_default();
        let (mut body_tx, body_rx) = wit_stream::new();
        let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
        let (response, _sent) = Response::new(Fields::new(), Some(body_rx), trailers_rx);
        drop(trailers_tx);
        let request_body = (path == "/echo").then(|| {
            let (_, done) = wit_future::new(|| Ok(()));
            Request::consume_body(request, done).0
        });
        wit_bindgen::spawn(async move {
            let bytes = match request_body {
                Some(body) => body.collect().await,
                None => format!("hello from floe (wasi 0.3) at {path}\n").into_bytes(),
            };
            body_tx.write_all(bytes).await;
        });
        Ok(response)
    }
}
