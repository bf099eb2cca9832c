//! `http-server`: a capability provider that serves HTTP with hyper and
//! routes every request to the actor linked for
//! `wasi:http/incoming-handler`:
//!
//! ```text
//! floe link put http-server ACTOR wasi:http/incoming-handler \
//!     --source-config address=127.0.0.1:8080
//! ```
//!
//! Each link opens its own listener (links of one source differ by link
//! name, so several ports take `--link-name`); a link asking for an address
//! another link holds is refused; `floe link del` closes the listener.
//! A request crosses the wire whole ([`floe_wire::http`]); the host runs
//! the actor's handler through wasmtime-wasi-http.
//!
//! # Layout
//! - [`route`]: a link's source config (address, limits).
//! - [`listeners`]: the open listeners, one per link.
//! - [`forward`]: one request to the actor and its answer back.

mod forward;
mod listeners;
mod route;

use std::sync::Mutex;

use floe_provider::{
    Context, ErrorKind, HealthReport, Invocation, InvocationError, Link, Provider,
};

use crate::listeners::Listeners;
use crate::route::Route;

#[derive(Default)]
struct HttpServer {
    listeners: Listeners,
    /// Links that could not be served, and why (reported by health checks).
    refused: Mutex<std::collections::BTreeMap<String, String>>,
}

impl HttpServer {
    fn refuse(&self, key: &str, reason: Option<String>) {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match reason {
            Some(reason) => refused.insert(key.to_owned(), reason),
            None => refused.remove(key),
        };
    }
}

#[async_trait::async_trait]
impl Provider for HttpServer {
    async fn invoke(&self, _ctx: &Context, call: Invocation) -> Result<Vec<u8>, InvocationError> {
        Err(InvocationError::new(
            ErrorKind::NoSuchOperation,
            format!(
                "http-server exports nothing to call ({} asked): it calls the actors linked to it",
                call.operation
            ),
        ))
    }

    async fn link_put(&self, ctx: &Context, link: &Link) {
        let Some(route) = Route::of(ctx.provider_id(), link) else {
            return;
        };
        let key = link.key();
        let route = match route {
            Ok(route) => route,
            Err(e) => {
                tracing::error!(link = %key, "link refused: {e}");
                // A changed link that is now invalid stops serving.
                self.listeners.close(&key).await;
                self.refuse(&key, Some(e.to_string()));
                return;
            }
        };
        let address = route.address;
        let actor = route.actor.clone();
        match self.listeners.apply(&ctx.shared(), route).await {
            Ok(local) => {
                tracing::info!(link = %key, %actor, "serving http://{local}");
                self.refuse(&key, None);
            }
            Err(e) => {
                tracing::error!(link = %key, %address, "link refused: {e}");
                self.refuse(&key, Some(e.to_string()));
            }
        }
    }

    async fn link_deleted(&self, _ctx: &Context, link: &Link) {
        let key = link.key();
        self.refuse(&key, None);
        self.listeners.close(&key).await;
    }

    async fn health(&self) -> HealthReport {
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        HealthReport {
            // A refused link is the link's fault, not the provider's: it
            // keeps serving the others, so it stays healthy and says why.
            healthy: true,
            message: (!refused.is_empty()).then(|| {
                refused
                    .iter()
                    .map(|(key, why)| format!("{key}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        }
    }

    async fn shutdown(&self) {
        self.listeners.close_all().await;
    }
}

// One thread: the provider only moves bytes between sockets, and a single
// thread spares every request the cross-thread wake-ups (measured: a
// sixth of its CPU went to context switches with two workers).
#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    if let Err(e) = floe_provider::run(HttpServer::default()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
