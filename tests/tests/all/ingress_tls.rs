//! Ingress over TLS (docs/ingress.md): certificates picked by SNI from the
//! routes' secrets, over HTTP/1.1 and HTTP/2 (ALPN), a rotated certificate
//! served from the next handshake, an unknown name refused, and a plain
//! request redirected to HTTPS. The CA and certificates are made here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use floe_tests::http::HttpClient;
use floe_tests::{FloeCli, with_timeout};
use http_body_util::{BodyExt as _, Full};
use rustls::pki_types::{CertificateDer, ServerName};

use crate::ingress::{logged_address, signed_hello};
use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(150);

struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new() -> Ca {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "floe test CA");
        let cert = params.self_signed(&key).expect("CA");
        Ca { cert, key }
    }

    /// A certificate for `name` and its key, as one PEM, and the leaf's DER.
    fn leaf(&self, name: &str) -> (String, Vec<u8>) {
        self.leaf_with(name, |_| {})
    }

    /// As [`leaf`](Self::leaf), with its parameters changed by `change`.
    fn leaf_with(
        &self,
        name: &str,
        change: impl FnOnce(&mut rcgen::CertificateParams),
    ) -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
        change(&mut params);
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("leaf");
        (
            format!("{}{}", cert.pem(), key.serialize_pem()),
            cert.der().to_vec(),
        )
    }
}

/// A TLS connection to `address` for `name` offering `alpn`: the leaf the
/// server presented, the protocol chosen, and the answer to `GET path`.
async fn get(
    ca: &Ca,
    address: &str,
    name: &str,
    alpn: &[u8],
    path: &str,
) -> Result<(Vec<u8>, Vec<u8>, u16, String), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert.der().to_vec()))
        .map_err(|e| e.to_string())?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let server = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
    let tls = connector
        .connect(server, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (_, session) = tls.get_ref();
    let leaf = session
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let chosen = session.alpn_protocol().unwrap_or_default().to_vec();
    let io = hyper_util::rt::TokioIo::new(tls);
    let request = hyper::Request::get(format!("https://{name}{path}"))
        .header("host", name)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let response = if chosen == b"h2" {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        sender.send_request(request).await
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        sender.send_request(request).await
    }
    .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((
        leaf,
        chosen,
        status,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

fn put_pem(cli: &FloeCli, lattice: &Lattice, secret: &str, pem: &str, dir: &std::path::Path) {
    let file = dir.join(format!("{secret}.pem"));
    std::fs::write(&file, pem).expect("write");
    cli.ok(lattice.args(&[
        "secret",
        "put",
        secret,
        "--allow",
        "@ingress",
        "--from-file",
        file.to_str().expect("utf-8"),
    ]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_name_gets_its_certificate_over_both_protocols_and_a_new_one_within_a_second() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice
            .host(
                &[],
                &["--ingress", "127.0.0.1:0", "--ingress-tls", "127.0.0.1:0"],
            )
            .await;
        let dir = tempfile::tempdir().expect("dir");
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let ca = Ca::new();
        let (pem_a, leaf_a) = ca.leaf("a.example.com");
        let (pem_b, leaf_b) = ca.leaf("b.example.com");
        put_pem(&cli, &lattice, "cert-a", &pem_a, dir.path());
        put_pem(&cli, &lattice, "cert-b", &pem_b, dir.path());
        let mut ids = Vec::new();
        for name in ["a", "b"] {
            let (id, path) = signed_hello(dir.path(), name);
            cli.ok(lattice.args(&["start", "actor", &path, "--host", host.id()]));
            ids.push(id);
        }
        cli.ok(lattice.args(&[
            "ingress",
            "put",
            "a",
            "--host",
            "a.example.com",
            "--target",
            &ids[0],
            "--tls",
            "cert-a",
            "--https-redirect",
        ]));
        cli.ok(lattice.args(&[
            "ingress",
            "put",
            "b",
            "--host",
            "b.example.com",
            "--target",
            &ids[1],
            "--tls",
            "cert-b",
        ]));
        let tls = logged_address(&host, "ingress TLS");
        let plain = logged_address(&host, "ingress");
        let deadline = Instant::now() + Duration::from_secs(10);
        while get(&ca, &tls, "b.example.com", b"h2", "/").await.is_err() {
            assert!(
                Instant::now() < deadline,
                "certificates load: {}",
                host.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (name, leaf) in [("a.example.com", &leaf_a), ("b.example.com", &leaf_b)] {
            for alpn in [&b"h2"[..], b"http/1.1"] {
                let (served, chosen, status, body) =
                    get(&ca, &tls, name, alpn, "/").await.expect("TLS request");
                assert_eq!(&served, leaf, "{name} gets its own certificate");
                assert_eq!(chosen, alpn, "ALPN");
                assert_eq!((status, body.as_str()), (200, "hello from floe\n"));
            }
        }
        let (_, _, _, seen) = get(&ca, &tls, "a.example.com", b"h2", "/headers")
            .await
            .expect("headers");
        assert!(seen.contains("x-forwarded-proto: https"), "{seen}");
        let unknown = get(&ca, &tls, "c.example.com", b"h2", "/").await;
        assert!(
            unknown.is_err(),
            "a name no route serves gets no certificate"
        );

        // Plain HTTP to a route that asks for it: a redirect to HTTPS.
        let answer = HttpClient::new()
            .send(
                "GET",
                &format!("http://{plain}/x?y=1"),
                &[("host", "a.example.com")],
                Vec::new(),
            )
            .await
            .expect("plain");
        assert_eq!(answer.status, 308);
        let port = tls.rsplit(':').next().expect("port");
        assert_eq!(
            answer.headers["location"],
            format!("https://a.example.com:{port}/x?y=1").as_str()
        );

        // A new certificate for a.example.com: served within a second.
        let (pem_new, leaf_new) = ca.leaf("a.example.com");
        put_pem(&cli, &lattice, "cert-a", &pem_new, dir.path());
        let stored = Instant::now();
        loop {
            let (served, ..) = get(&ca, &tls, "a.example.com", b"h2", "/")
                .await
                .expect("TLS");
            if served == leaf_new {
                break;
            }
            assert_eq!(served, leaf_a);
            assert!(
                stored.elapsed() < Duration::from_secs(1),
                "the new certificate within 1 s"
            );
        }
        eprintln!(
            "new certificate served {:?} after the put",
            stored.elapsed()
        );

        // A certificate for another name is not served for this one.
        let (pem_wrong, _) = ca.leaf("other.example.com");
        put_pem(&cli, &lattice, "cert-b", &pem_wrong, dir.path());
        let deadline = Instant::now() + Duration::from_secs(5);
        while get(&ca, &tls, "b.example.com", b"h2", "/").await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "a certificate that does not cover b is dropped"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            host.log().contains("does not cover this host"),
            "{}",
            host.log()
        );

        // An expired certificate: served, and the host warns (clients
        // that check dates refuse it).
        let (pem_old, _) = ca.leaf_with("b.example.com", |p| {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        });
        put_pem(&cli, &lattice, "cert-b", &pem_old, dir.path());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !host.log().contains("the certificate expired at 2021-01-01") {
            assert!(Instant::now() < deadline, "warned: {}", host.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Served from the swap that follows the warning: a client that
        // checks dates refuses it.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match get(&ca, &tls, "b.example.com", b"h2", "/").await {
                Err(refused) if refused.to_lowercase().contains("expired") => break,
                other => assert!(
                    Instant::now() < deadline,
                    "the expired certificate is served: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
