//! The ingress listener: connections accepted within `--ingress-max-connections`
//! (`accept`), each served as HTTP/1.1 or HTTP/2 (prior knowledge) by
//! hyper, with a header timeout; requests go to `forward`. Its tasks are
//! the host's, so a stop ends them; calls arriving over the lattice are
//! served by other tasks and never wait for a connection here.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{Ingress, IngressError};
use crate::tasks::Tasks;

pub async fn serve(ingress: Arc<Ingress>, tasks: &Tasks) -> Result<SocketAddr, IngressError> {
    let address = ingress.settings.address;
    let listener =
        tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| IngressError::Bind {
                address,
                reason: e.to_string(),
            })?;
    let local = listener.local_addr().map_err(|e| IngressError::Bind {
        address,
        reason: e.to_string(),
    })?;
    let spawner = tasks.clone();
    let (max, header_timeout) = (
        ingress.settings.max_connections,
        ingress.settings.header_timeout,
    );
    crate::accept::spawn(
        listener,
        tasks,
        max,
        "ingress",
        move |stream, peer, permit| {
            let (ingress, stopping) = (ingress.clone(), spawner.clone());
            spawner.spawn(async move {
                let _ = stream.set_nodelay(true);
                let service = hyper::service::service_fn(move |request| {
                    let ingress = ingress.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            super::forward::handle(&ingress, peer, local, request).await,
                        )
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let mut builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                builder
                    .http1()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout);
                let connection = builder.serve_connection(io, service);
                tokio::select! {
                    _ = connection => {}
                    () = stopping.stopping() => {}
                }
                drop(permit);
            });
        },
    );
    Ok(local)
}
