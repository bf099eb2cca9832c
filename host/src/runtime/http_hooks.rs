//! [`HttpHooks`]: what `wasi:http` may do on behalf of one invocation — a
//! guest's outgoing request is sent only when the actor's claims grant
//! `wasi:http/outgoing-handler`, and never past the invocation's deadline;
//! otherwise the guest's call fails with the standard
//! `HTTP-request-denied` error code (its own error, not a trap).

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// What `wasi:http` may do on behalf of one invocation.
#[derive(Debug, Default, Clone)]
pub struct HttpHooks {
    /// The actor's claims grant `wasi:http/outgoing-handler`.
    pub outgoing_allowed: bool,
    /// The invocation's deadline: outgoing requests end there.
    pub deadline_at: Option<Instant>,
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        if !self.outgoing_allowed {
            tracing::debug!(
                uri = %request.uri(),
                "outgoing HTTP denied: the actor's claims lack wasi:http/outgoing-handler"
            );
            return Box::new(std::future::ready(Err(
                wasmtime_wasi_http::Error::HttpRequestDenied,
            )));
        }
        let left = self
            .deadline_at
            .map(|at| at.saturating_duration_since(Instant::now()));
        let options = within(options.unwrap_or_default(), left);
        Box::new(async move {
            let send = wasmtime_wasi_http::default_send_request(request, Some(options));
            let (response, io) = match left {
                Some(left) => tokio::time::timeout(left, send)
                    .await
                    .map_err(|_| wasmtime_wasi_http::Error::ConnectionTimeout)??,
                None => send.await?,
            };
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// `options` with every timeout at most `left`.
fn within(options: RequestOptions, left: Option<Duration>) -> RequestOptions {
    let Some(left) = left else {
        return options;
    };
    let cap = |t: Option<Duration>| Some(t.map_or(left, |t| t.min(left)));
    RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_timeouts_never_outlive_the_deadline() {
        let left = Duration::from_millis(300);
        let capped = within(
            RequestOptions {
                connect_timeout: Some(Duration::from_secs(5)),
                first_byte_timeout: None,
                between_bytes_timeout: Some(Duration::from_millis(100)),
            },
            Some(left),
        );
        assert_eq!(capped.connect_timeout, Some(left));
        assert_eq!(capped.first_byte_timeout, Some(left));
        assert_eq!(
            capped.between_bytes_timeout,
            Some(Duration::from_millis(100))
        );
    }
}
