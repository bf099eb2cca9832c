//! TLS for ingress (`--ingress-tls ADDR`): rustls, the certificate picked
//! by SNI from the routes' `tls` secrets (a PEM certificate chain and its
//! private key, the secret's allow-list naming `@ingress`). Certificates
//! are loaded again whenever the routes or a secret change and swapped
//! whole, so a rotated certificate is served from the next handshake. A
//! certificate that does not parse, whose key does not match it, or that
//! does not cover a route's exact host is not served for that host, and
//! the host logs why by route and secret. An expired certificate is
//! served, with a warning at each load (as one that expires within 14
//! days). A name no route serves gets no
//! certificate: its handshake fails. HTTP/2 and HTTP/1.1 by ALPN.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use floe_wire::ingress::Route;
use floe_wire::secrets::INGRESS_READER;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::secrets::{HostSecrets, SecretUseError};

/// The certificates in force, by host name.
#[derive(Debug, Default)]
struct CertMap {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `(".example.com", key)`, longest suffix first.
    wildcard: Vec<(String, Arc<CertifiedKey>)>,
}

/// What rustls asks for a certificate by SNI.
#[derive(Debug, Default)]
pub struct Certificates {
    map: RwLock<Arc<CertMap>>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.to_ascii_lowercase();
        let map = self
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        map.exact.get(&name).cloned().or_else(|| {
            map.wildcard
                .iter()
                .find(|(suffix, _)| name.len() > suffix.len() && name.ends_with(suffix.as_str()))
                .map(|(_, key)| key.clone())
        })
    }
}

impl Certificates {
    /// Loads the certificates `routes` name and swaps them in.
    pub async fn reload(&self, routes: &[Route], secrets: &HostSecrets) {
        let mut keys: HashMap<String, Option<Arc<CertifiedKey>>> = HashMap::new();
        let mut map = CertMap::default();
        for route in routes {
            let Some(secret) = &route.tls else { continue };
            if !keys.contains_key(secret) {
                let loaded = load(secret, secrets).await;
                match &loaded {
                    Err(e) => {
                        tracing::warn!(route = %route.name, secret = %secret, "TLS certificate not served: {e}");
                    }
                    Ok(key) => warn_expiry(secret, key),
                }
                keys.insert(secret.clone(), loaded.ok().map(Arc::new));
            }
            let Some(Some(key)) = keys.get(secret) else {
                continue;
            };
            for host in &route.hosts {
                match host.strip_prefix('*') {
                    Some(suffix) => map.wildcard.push((suffix.to_owned(), key.clone())),
                    None if covers(key, host) => {
                        map.exact.insert(host.clone(), key.clone());
                    }
                    None => {
                        tracing::warn!(route = %route.name, secret = %secret, host = %host, "the certificate does not cover this host: not served for it")
                    }
                }
            }
        }
        map.wildcard
            .sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
        *self
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(map);
    }
}

/// Why a route's certificate is not served. Never quotes the secret.
#[derive(Debug, thiserror::Error)]
enum CertificateError {
    #[error(transparent)]
    Secret(#[from] SecretUseError),
    #[error("the certificate chain is not valid PEM")]
    NotPem,
    #[error("the secret holds no PEM certificate")]
    NoCertificate,
    #[error("the secret holds no usable PEM private key")]
    NoKey,
    #[error("the private key is not of a supported type")]
    UnsupportedKey,
    #[error("the private key does not match the certificate")]
    KeyMismatch,
}

/// The certificate chain and key in secret `name`.
async fn load(name: &str, secrets: &HostSecrets) -> Result<CertifiedKey, CertificateError> {
    if let Err(e) = secrets.fetch(name).await {
        // Out of reach for now: the value already held, if any, serves on.
        if !matches!(e, SecretUseError::Unreachable { .. }) {
            return Err(e.into());
        }
        tracing::warn!(secret = %name, "{e}");
    }
    let value = secrets.value_for(name, INGRESS_READER, None)?;
    parse(value.expose())
}

/// A PEM certificate chain (leaf first) and private key. The parser's
/// errors may quote the input (the key): they are never passed on.
fn parse(pem: &[u8]) -> Result<CertifiedKey, CertificateError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CertificateError::NotPem)?;
    if chain.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| CertificateError::NoKey)?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|_| CertificateError::UnsupportedKey)?;
    let key = CertifiedKey::new(chain, signer);
    key.keys_match()
        .map_err(|_| CertificateError::KeyMismatch)?;
    Ok(key)
}

/// Certificates expiring within this are warned about at each load.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// Warns when the leaf certificate of `key` has expired (it is still
/// served: the client decides; docs/ingress.md) or expires soon.
fn warn_expiry(secret: &str, key: &CertifiedKey) {
    let Some(not_after) = key.end_entity_cert().ok().and_then(|leaf| expiry(leaf)) else {
        return;
    };
    let now = SystemTime::now();
    let at = humantime::format_rfc3339_seconds(not_after);
    match not_after.duration_since(now) {
        Err(_) => tracing::warn!(
            secret = %secret,
            "the certificate expired at {at}: still served, but clients will refuse it; put a renewed one with `floe secret put {secret}`"
        ),
        Ok(left) if left < EXPIRY_WARNING => tracing::warn!(
            secret = %secret,
            "the certificate expires at {at}, in {}: put a renewed one with `floe secret put {secret}`",
            humantime::format_duration(Duration::from_secs(left.as_secs()))
        ),
        Ok(_) => {}
    }
}

/// When a DER certificate stops being valid.
fn expiry(der: &CertificateDer<'_>) -> Option<SystemTime> {
    use x509_cert::der::Decode as _;
    let cert = x509_cert::Certificate::from_der(der.as_ref()).ok()?;
    Some(SystemTime::UNIX_EPOCH + cert.tbs_certificate.validity.not_after.to_unix_duration())
}

/// Whether the leaf certificate of `key` is valid for `host`.
fn covers(key: &CertifiedKey, host: &str) -> bool {
    let (Some(leaf), Ok(name)) = (key.cert.first(), ServerName::try_from(host)) else {
        return false;
    };
    webpki::EndEntityCert::try_from(leaf)
        .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(&name).is_ok())
}

/// The server's TLS settings: certificates by SNI, HTTP/2 then HTTP/1.1.
pub fn server_config(certificates: Arc<Certificates>) -> Result<Arc<rustls::ServerConfig>, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_cert_resolver(certificates);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
