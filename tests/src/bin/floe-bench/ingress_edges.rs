//! Ingress at its edges (docs/ingress.md):
//! - TLS handshakes per second through a host's `--ingress-tls` listener
//!   (certificate by SNI from a secret) next to a bare tokio-rustls server
//!   with the same certificate in its own process, rounds interleaved;
//! - lattice calls to an actor on the ingress host while its listener is
//!   flooded with connections (idle ones up to near its limit, and loops
//!   that connect and close), against the same calls without the flood,
//!   rounds interleaved.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use floe_tests::http::free_port;
use floe_tests::{HostOptions, HostProcess, NatsServer, paths, start_request};
use floe_wire::Encoding;
use floe_wire::ingress::Route;
use floe_wire::secrets::{INGRESS_READER, SecretValue, SecretsKey};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::process::Command;

use crate::Report;
use crate::inhost::payload;
use crate::load::{OP, spread, wait_ready};
use crate::stats::percentile;

const NAME: &str = "tls.bench";
/// Clients making handshakes at once.
const HANDSHAKERS: usize = 8;
/// Idle connections held open during the flood (the host's limit: 512).
const IDLE_CONNECTIONS: usize = 400;
/// Tasks connecting and closing in a loop during the flood.
const CHURNERS: usize = 4;

/// A self-signed certificate for [`NAME`] and its key, as one PEM.
fn certificate() -> anyhow::Result<(String, CertificateDer<'static>)> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec![NAME.to_owned()])?.self_signed(&key)?;
    let der = CertificateDer::from(cert.der().to_vec());
    Ok((format!("{}{}", cert.pem(), key.serialize_pem()), der))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `floe-bench --plain-tls ADDR PEM`: accepts TLS handshakes with the
/// certificate and key in PEM, and nothing more.
pub async fn serve_plain_tls(addr: &str, pem: &str) -> anyhow::Result<()> {
    let pem = std::fs::read(pem)?;
    let chain = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(&pem)?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("ready");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _ = acceptor.accept(stream).await;
        });
    }
}

/// A client that trusts `root` alone.
fn connector(root: &CertificateDer<'static>) -> anyhow::Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone())?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// One handshake with `address` for [`NAME`].
async fn handshake(connector: &tokio_rustls::TlsConnector, address: &str) -> anyhow::Result<()> {
    let tcp = tokio::net::TcpStream::connect(address).await?;
    connector.connect(ServerName::try_from(NAME)?, tcp).await?;
    Ok(())
}

/// Handshakes per second against `address` for `secs`.
async fn handshakes(
    address: &str,
    root: &CertificateDer<'static>,
    secs: u64,
) -> anyhow::Result<f64> {
    let connector = connector(root)?;
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..HANDSHAKERS {
        let (connector, done, address) = (connector.clone(), done.clone(), address.to_owned());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                handshake(&connector, &address).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / secs as f64)
}

/// Floods `address` until `stop`: idle connections held open, and loops
/// that connect and close; counts the connections made.
fn flood(
    address: String,
    stop: Arc<AtomicBool>,
    made: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut idle = Vec::new();
        for _ in 0..IDLE_CONNECTIONS {
            if let Ok(tcp) = tokio::net::TcpStream::connect(&address).await {
                idle.push(tcp);
                made.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut churn = Vec::new();
        for _ in 0..CHURNERS {
            let (address, stop, made) = (address.clone(), stop.clone(), made.clone());
            churn.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if tokio::net::TcpStream::connect(&address).await.is_ok() {
                        made.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for task in churn {
            let _ = task.await;
        }
        drop(idle);
    })
}

pub async fn measure(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let (secs, rounds, calls) = if quick { (2, 2, 100) } else { (4, 3, 400) };
    let nats = NatsServer::start().await?;
    let lattice = "edges";
    let (plain_port, tls_port) = (free_port(), free_port());
    let plain = format!("127.0.0.1:{plain_port}");
    let tls = format!("127.0.0.1:{tls_port}");
    let host = HostProcess::start(
        nats.url(),
        lattice,
        HostOptions {
            args: [
                "--ingress",
                &plain,
                "--ingress-tls",
                &tls,
                "--ingress-max-connections",
                "512",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            ..HostOptions::default()
        },
    )
    .await?;
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(30));
    let (pem, root) = certificate()?;
    let default = SecretsKey::derive(&floe_tests::seed_for(lattice), &lattice.parse()?);
    client
        .put_secret(
            "bench-cert",
            &SecretValue::new(pem.clone().into_bytes())?,
            &[INGRESS_READER.to_owned()],
            &default,
        )
        .await?;
    let hello = client
        .start_actor(host.id(), start_request(&paths::actor("http-hello")?, None))
        .await?;
    let echo = client
        .start_actor(host.id(), start_request(&paths::actor("echo")?, None))
        .await?;
    client
        .put_route(Route {
            name: "tls".into(),
            hosts: vec![NAME.into()],
            path: "/".into(),
            target: hello.actor_id.clone(),
            tls: Some("bench-cert".into()),
            ..Route::default()
        })
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let probe = connector(&root)?;
    while handshake(&probe, &tls).await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "ingress never served TLS");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let dir = tempfile::tempdir()?;
    let pem_file = dir.path().join("bench.pem");
    std::fs::write(&pem_file, &pem)?;
    let bare_port = free_port();
    let bare = format!("127.0.0.1:{bare_port}");
    let mut bare_server = Command::new(std::env::current_exe()?)
        .args(["--plain-tls", &bare, &pem_file.display().to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    wait_ready(&mut bare_server).await?;
    let (mut bare_rates, mut ingress_rates) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        bare_rates.push(handshakes(&bare, &root, secs).await?);
        ingress_rates.push(handshakes(&tls, &root, secs).await?);
    }
    let ratios: Vec<f64> = ingress_rates
        .iter()
        .zip(&bare_rates)
        .map(|(i, b)| i / b)
        .collect();
    report.row(
        "ingress TLS handshakes per second",
        format!(
            "{}, {} of a bare tokio-rustls server ({})",
            spread(&ingress_rates, "/s", 0),
            spread(&ratios, "×", 2),
            spread(&bare_rates, "/s", 0)
        ),
        &format!(
            "TLS 1.3, ECDSA P-256 (rcgen), {HANDSHAKERS} clients, {secs} s, {rounds} rounds interleaved; certificate by SNI from a secret"
        ),
    );

    // Lattice calls to echo on the ingress host, with and without a flood.
    let (mut quiet, mut flooded, mut made_rates) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        quiet.push(call_p50(&client, &echo.actor_id, calls).await?);
        let (stop, made) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let flooding = flood(plain.clone(), stop.clone(), made.clone());
        // Let the idle connections open before measuring.
        let opened = Instant::now();
        while made.load(Ordering::Relaxed) < IDLE_CONNECTIONS as u64 / 2
            && opened.elapsed() < Duration::from_secs(5)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (before, started) = (made.load(Ordering::Relaxed), Instant::now());
        flooded.push(call_p50(&client, &echo.actor_id, calls).await?);
        made_rates
            .push((made.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64());
        stop.store(true, Ordering::Relaxed);
        flooding.await?;
    }
    report.row(
        "lattice call to an actor on an ingress host, p50: quiet / listener flooded",
        format!(
            "{} / {}",
            spread(&quiet, "µs", 0),
            spread(&flooded, "µs", 0)
        ),
        &format!(
            "{calls} calls each; flood: {IDLE_CONNECTIONS} idle connections held and {CHURNERS} connect-close loops ({}); {rounds} rounds interleaved",
            spread(&made_rates, "connections/s", 0)
        ),
    );
    drop(host);
    Ok(())
}

/// The median latency of `n` sequential calls of echo, in microseconds.
async fn call_p50(client: &floe_ctl::CtlClient, actor: &str, n: usize) -> anyhow::Result<f64> {
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        client.call(actor, OP, payload(), Encoding::Msgpack).await?;
        took.push(started.elapsed());
    }
    Ok(percentile(&mut took, 0.5).as_secs_f64() * 1e6)
}
