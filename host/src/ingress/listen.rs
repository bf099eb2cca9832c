//! The ingress listeners: connections accepted within
//! `--ingress-max-connections` (`accept`), TLS handshakes (when serving
//! TLS) within the header timeout, then each connection served as
//! HTTP/1.1 or HTTP/2 (ALPN over TLS, prior knowledge in the clear) by
//! hyper; requests go to `forward`. Its tasks are the host's, so a stop
//! ends them; calls arriving over the lattice are served by other tasks
//! and never wait for a connection here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Ingress, IngressError};
use crate::tasks::Tasks;

/// Listens on `address` (over TLS with `tls`); returns where it listens.
pub async fn serve(
    ingress: Arc<Ingress>,
    tasks: &Tasks,
    address: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<SocketAddr, IngressError> {
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
    let max = ingress.settings.max_connections;
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    crate::accept::spawn(
        listener,
        tasks,
        max,
        "ingress",
        move |stream, peer, permit| {
            let (ingress, stopping, acceptor) =
                (ingress.clone(), spawner.clone(), acceptor.clone());
            spawner.spawn(async move {
            let _ = stream.set_nodelay(true);
            let timeout = ingress.settings.header_timeout;
            tokio::select! {
                () = async {
                    match acceptor {
                        None => {
                            // A client must start its request within the
                            // header timeout, or give its slot back.
                            let mut first = [0u8; 1];
                            match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
                                Ok(Ok(n)) if n > 0 => {
                                    connection(ingress, stream, peer, local, "http", timeout, Protocol::Either).await;
                                }
                                _ => tracing::debug!(%peer, "closed a connection that sent nothing in time"),
                            }
                        }
                        Some(acceptor) => {
                            match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                                Ok(Ok(tls)) => {
                                    // ALPN decided the protocol: no preface to wait for.
                                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                                    let protocol = if h2 { Protocol::Http2 } else { Protocol::Http1 };
                                    connection(ingress, tls, peer, local, "https", timeout, protocol).await;
                                }
                                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                    }
                } => {}
                () = stopping.stopping() => {}
            }
            drop(permit);
        });
        },
    );
    Ok(local)
}

/// Which HTTP a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// Told by its first bytes (plain connections).
    Either,
    Http1,
    Http2,
}

/// Serves one connection's requests until it closes.
async fn connection<I>(
    ingress: Arc<Ingress>,
    io: I,
    peer: SocketAddr,
    local: SocketAddr,
    scheme: &'static str,
    header_timeout: Duration,
    protocol: Protocol,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let ingress = ingress.clone();
        async move {
            Ok::<_, std::convert::Infallible>(
                super::forward::handle(&ingress, peer, local, scheme, request).await,
            )
        }
    });
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder = match protocol {
        Protocol::Either => builder,
        Protocol::Http1 => builder.http1_only(),
        Protocol::Http2 => builder.http2_only(),
    };
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout);
    // An HTTP/2 connection that stops answering pings is closed.
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(header_timeout))
        .keep_alive_timeout(header_timeout);
    let _ = builder
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}
