//! The listeners this provider holds: one per link, each on its own
//! address. A link asking for an address another link holds is refused
//! (never silently shadowed: two addresses clash by
//! [`floe_wire::http::addresses_clash`]); deleting a link closes its
//! listener and lets its open connections finish the request in flight, and
//! stopping the provider waits for them (at most [`CLOSE_GRACE`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use floe_provider::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::forward::{Forwarder, forward};
use crate::route::Route;

/// How long a closing listener's connections may finish what they serve.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The largest request head a client may send (431 beyond).
const MAX_HEAD: usize = 64 << 10;

/// Why a link's listener is not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    #[error(
        "address {address} is already served by link {holder}: delete that link or pick another address"
    )]
    AddressTaken { address: SocketAddr, holder: String },
    #[error("cannot listen on {address}: {reason}")]
    Bind { address: SocketAddr, reason: String },
}

struct Open {
    route: Route,
    local: SocketAddr,
    stop: CancellationToken,
    accept: JoinHandle<()>,
    connections: TaskTracker,
}

/// Every open listener, by link key.
#[derive(Default)]
pub struct Listeners {
    open: Mutex<HashMap<String, Open>>,
}

impl Listeners {
    /// Opens (or re-opens, when its config changed) the listener `route`
    /// asks for; returns the address it listens on.
    pub async fn apply(&self, ctx: &Arc<Context>, route: Route) -> Result<SocketAddr, ListenError> {
        let mut open = self.open.lock().await;
        if let Some(current) = open.get(&route.link_key)
            && current.route == route
        {
            return Ok(current.local);
        }
        if let Some((holder, _)) = open.iter().find(|(key, o)| {
            **key != route.link_key
                && floe_wire::http::addresses_clash(o.route.address, route.address)
        }) {
            return Err(ListenError::AddressTaken {
                address: route.address,
                holder: holder.clone(),
            });
        }
        if let Some(previous) = open.remove(&route.link_key) {
            close(previous, false).await;
        }
        let listener = TcpListener::bind(route.address)
            .await
            .map_err(|e| ListenError::Bind {
                address: route.address,
                reason: e.to_string(),
            })?;
        let local = listener.local_addr().map_err(|e| ListenError::Bind {
            address: route.address,
            reason: e.to_string(),
        })?;
        let stop = CancellationToken::new();
        let forwarder = Arc::new(Forwarder {
            ctx: ctx.clone(),
            route: route.clone(),
            local,
        });
        let connections = TaskTracker::new();
        let accept = tokio::spawn(accept_loop(
            listener,
            forwarder,
            stop.clone(),
            connections.clone(),
        ));
        open.insert(
            route.link_key.clone(),
            Open {
                route,
                local,
                stop,
                accept,
                connections,
            },
        );
        Ok(local)
    }

    /// Closes the listener of link `key`, if any; true when one was open.
    pub async fn close(&self, key: &str) -> bool {
        let removed = self.open.lock().await.remove(key);
        match removed {
            Some(open) => {
                close(open, false).await;
                true
            }
            None => false,
        }
    }

    /// Closes every listener and waits (at most [`CLOSE_GRACE`]) for the
    /// requests in flight to be answered: the provider is stopping.
    pub async fn close_all(&self) {
        let all: Vec<Open> = self.open.lock().await.drain().map(|(_, o)| o).collect();
        let closing = all.into_iter().map(|open| close(open, true));
        let _ = tokio::time::timeout(CLOSE_GRACE, futures::future::join_all(closing)).await;
    }
}

/// Stops accepting (the port is free when this returns) and tells the
/// listener's connections to finish; with `wait`, until they have.
async fn close(open: Open, wait: bool) {
    open.stop.cancel();
    let _ = open.accept.await;
    open.connections.close();
    if wait {
        open.connections.wait().await;
    }
    tracing::info!(address = %open.local, actor = %open.route.actor, "listener closed");
}

async fn accept_loop(
    listener: TcpListener,
    forwarder: Arc<Forwarder>,
    stop: CancellationToken,
    connections: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(forwarder.route.max_connections));
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
            () = stop.cancelled() => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it
                // was accepted: keep serving the others.
                tracing::warn!(address = %forwarder.local, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let forwarder = forwarder.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            let header_timeout = forwarder.route.header_timeout;
            let service = service_fn(move |request| {
                let forwarder = forwarder.clone();
                async move {
                    Ok::<_, Infallible>(
                        forward(&forwarder.ctx, &forwarder.route, forwarder.local, request).await,
                    )
                }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .max_buf_size(MAX_HEAD)
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    tokio::time::timeout(CLOSE_GRACE, connection.as_mut())
                        .await
                        .unwrap_or(Ok(()))
                }
            };
            if let Err(e) = served {
                // Malformed HTTP, a slow or vanished client: hyper answered
                // or closed that connection; the listener serves on.
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}
