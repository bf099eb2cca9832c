//! Accepting TCP connections within a limit, for the host's listeners
//! (metrics, ingress): past `max` connections open at once, accepting
//! waits; a failed accept (out of descriptors, say) is retried shortly;
//! the loop ends when the host stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::tasks::Tasks;

/// Accepts on `listener` until the host stops, handing each connection,
/// its peer and its slot (held while the connection lives) to `serve`.
pub fn spawn(
    listener: TcpListener,
    tasks: &Tasks,
    max: usize,
    what: &'static str,
    serve: impl Fn(TcpStream, SocketAddr, OwnedSemaphorePermit) + Send + 'static,
) {
    let connections = Arc::new(Semaphore::new(max));
    let stopping = tasks.clone();
    tasks.spawn(async move {
        loop {
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = stopping.stopping() => return,
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => serve(stream, peer, permit),
                    Err(e) => {
                        tracing::debug!("{what}: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = stopping.stopping() => return,
            }
        }
    });
}
