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
//! another link holds is refused, and served once that address is free
//! (retried every 2 s); `floe link del` closes the listener.
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

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use floe_provider::{
    Context, ErrorKind, HealthReport, Invocation, InvocationError, Link, Provider,
};

use crate::listeners::Listeners;
use crate::route::Route;

/// How often links refused for their address are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// A link not served, and why.
struct Refusal {
    /// The route to try again (`None`: its config is invalid until re-put).
    route: Option<Route>,
    reason: String,
}

#[derive(Default)]
struct State {
    listeners: Listeners,
    /// Links not served, by link key (reported by health checks).
    refused: Mutex<BTreeMap<String, Refusal>>,
}

impl State {
    fn refused(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Refusal>> {
        self.refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens the listener `route` asks for, or records why not.
    async fn serve(&self, ctx: &Arc<Context>, route: Route) {
        let key = route.link_key.clone();
        let (address, actor) = (route.address, route.actor.clone());
        match self.listeners.apply(ctx, route.clone()).await {
            Ok(local) => {
                tracing::info!(link = %key, %actor, "serving http://{local}");
                self.refused().remove(&key);
            }
            Err(e) => {
                let reason = e.to_string();
                let known = self.refused().get(&key).is_some_and(|r| r.reason == reason);
                if !known {
                    tracing::error!(link = %key, %address, "link refused: {reason}");
                }
                self.refused().insert(
                    key,
                    Refusal {
                        route: Some(route),
                        reason,
                    },
                );
            }
        }
    }

    /// Tries the refused links again: an address may have been freed (a
    /// link deleted, another process gone).
    async fn retry(&self, ctx: &Arc<Context>) {
        let waiting: Vec<Route> = self
            .refused()
            .values()
            .filter_map(|r| r.route.clone())
            .collect();
        for route in waiting {
            self.serve(ctx, route).await;
        }
    }
}

#[derive(Default)]
struct HttpServer {
    state: Arc<State>,
    /// The task retrying refused links, started with the first link.
    retrying: OnceLock<()>,
}

impl HttpServer {
    fn start_retrying(&self, ctx: &Context) {
        self.retrying.get_or_init(|| {
            let (state, ctx) = (self.state.clone(), ctx.shared());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RETRY_EVERY).await;
                    state.retry(&ctx).await;
                }
            });
        });
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
        self.start_retrying(ctx);
        match route {
            Ok(route) => self.state.serve(&ctx.shared(), route).await,
            Err(e) => {
                let key = link.key();
                tracing::error!(link = %key, "link refused: {e}");
                // A changed link that is now invalid stops serving.
                self.state.listeners.close(&key).await;
                self.state.refused().insert(
                    key,
                    Refusal {
                        route: None,
                        reason: e.to_string(),
                    },
                );
            }
        }
    }

    async fn link_deleted(&self, ctx: &Context, link: &Link) {
        let key = link.key();
        self.state.refused().remove(&key);
        if self.state.listeners.close(&key).await {
            // Its address is free: a link waiting for it is served now.
            self.state.retry(&ctx.shared()).await;
        }
    }

    async fn health(&self) -> HealthReport {
        let refused = self.state.refused();
        HealthReport {
            // A refused link is the link's fault, not the provider's: it
            // keeps serving the others, so it stays healthy and says why.
            healthy: true,
            message: (!refused.is_empty()).then(|| {
                refused
                    .iter()
                    .map(|(key, r)| format!("{key}: {}", r.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        }
    }

    async fn shutdown(&self) {
        self.state.listeners.close_all().await;
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
