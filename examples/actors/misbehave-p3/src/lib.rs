//! A WASI 0.3 HTTP handler that misbehaves on request, so tests can show
//! what a failing call does to the others sharing its instance:
//! `/wait?ms=N` answers after N ms (awaiting, so other calls run
//! meanwhile), `/trap` panics, `/spin` computes forever without yielding,
//! and anything else answers at once. Every answer names how many calls
//! this instance has served, which shows instances being shared.

use std::sync::atomic::{AtomicU64, Ordering};

use wasip3::http::types::{ErrorCode, Fields, Request, Response};
use wasip3::{wit_bindgen, wit_future, wit_stream};

wasip3::http::service::export!(Misbehave);

static SERVED: AtomicU64 = AtomicU64::new(0);

struct Misbehave;

impl wasip3::exports::http::handler::Guest for Misbehave {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let path = request.get_path_with_query().unwrap_or_default();
        if path == "/trap" {
            panic!("asked to trap (call {served} of this instance)");
        }
        if path == "/spin" {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        if let Some(ms) = path.strip_prefix("/wait?ms=") {
            let ms: u64 = ms.parse().map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
            wasip3::clocks::monotonic_clock::wait_for(ms * 1_000_000).await;
        }
        let (mut body_tx, body_rx) = wit_stream::new();
        let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
        let (response, _sent) = Response::new(Fields::new(), Some(body_rx), trailers_rx);
        drop(trailers_tx);
        wit_bindgen::spawn(async move {
            body_tx
                .write_all(format!("call {served} of this instance at {path}\n").into_bytes())
                .await;
        });
        Ok(response)
    }
}
