//! The seal: one token that authenticates one message or KV entry.
//!
//! ```text
//! 1.{key_id}.{issued_at_ms}.{nonce}.{mac}
//! ```
//! - `1`: the seal format version;
//! - `key_id`: the lattice key's id (12 hex digits);
//! - `issued_at_ms`: milliseconds since the Unix epoch, decimal;
//! - `nonce`: 16 random bytes, base64url without padding (22 characters),
//!   unique per message, so a receiver can recognise a replay;
//! - `mac`: HMAC-SHA256 under the lattice key, base64url without padding,
//!   of `"floe-mac-1\n" key_id "\n" issued_at_ms "\n" nonce "\n" context "\n" body`.
//!
//! The context is where the bytes go, so an authentic message cannot be
//! re-aimed: [`SealContext::message`] — the NATS subject and, for a request, the
//! subject its reply must go to (a reply is sealed for the requester's
//! inbox) — or [`SealContext::kv`] for a KV entry. The two never coincide.
//! A message carries its seal in the [`AUTH_HEADER`] header; a KV value is
//! the seal, a newline, then the body.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;

use super::AuthError;
use super::key::KeyRing;

/// The NATS header that carries a message's seal.
pub const AUTH_HEADER: &str = "Floe-Auth";

const FORMAT: &str = "1";
const DOMAIN: &[u8] = b"floe-mac-1\n";
const NONCE_BYTES: usize = 16;
const MAC_BYTES: usize = 32;
/// `1.` + a 12-digit key id + 13 digits of milliseconds + a 22-character
/// nonce + a 43-character MAC, with their dots.
const TOKEN_CAPACITY: usize = 100;

/// Where sealed bytes go, absorbed into the MAC as text: `msg SUBJECT`, or
/// `msg SUBJECT REPLY` for a request (NATS subjects hold no spaces), or
/// `kv BUCKET KEY` for a KV entry. Fed to the MAC part by part, so sealing
/// and verifying a message allocate no context string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealContext<'a> {
    Message {
        subject: &'a str,
        reply: Option<&'a str>,
    },
    Kv {
        bucket: &'a str,
        key: &'a str,
    },
}

impl<'a> SealContext<'a> {
    /// The context of a message sent to `subject` (with answers to `reply`
    /// when it is a request).
    pub fn message(subject: &'a str, reply: Option<&'a str>) -> Self {
        SealContext::Message { subject, reply }
    }

    /// The context of a KV entry.
    pub fn kv(bucket: &'a str, key: &'a str) -> Self {
        SealContext::Kv { bucket, key }
    }

    fn absorb(&self, mac: &mut super::key::HmacSha256) {
        let (kind, first, second) = match *self {
            SealContext::Message { subject, reply } => ("msg ", subject, reply),
            SealContext::Kv { bucket, key } => ("kv ", bucket, Some(key)),
        };
        mac.update(kind.as_bytes());
        mac.update(first.as_bytes());
        if let Some(second) = second {
            mac.update(b" ");
            mac.update(second.as_bytes());
        }
    }
}

/// The context as the MAC reads it (for logs).
impl std::fmt::Display for SealContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealContext::Message {
                subject,
                reply: None,
            } => write!(f, "msg {subject}"),
            SealContext::Message {
                subject,
                reply: Some(reply),
            } => write!(f, "msg {subject} {reply}"),
            SealContext::Kv { bucket, key } => write!(f, "kv {bucket} {key}"),
        }
    }
}

/// A parsed, verified seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    pub issued_at_ms: u64,
    /// The nonce, as a number (for the replay cache).
    pub nonce: u128,
}

impl Seal {
    /// Seals `body`, sent to `context`, under the ring's signing key; returns
    /// the token.
    pub fn create(
        ring: &KeyRing,
        context: &SealContext<'_>,
        body: &[u8],
        issued_at_ms: u64,
    ) -> String {
        let key = ring.signing();
        let mut token = String::with_capacity(TOKEN_CAPACITY);
        token.push_str(FORMAT);
        token.push('.');
        token.push_str(key.id());
        token.push('.');
        let issued_from = token.len();
        {
            use std::fmt::Write as _;
            let _ = write!(token, "{issued_at_ms}");
        }
        let issued_to = token.len();
        token.push('.');
        // Unique, not secret (the MAC covers it): a per-thread generator
        // seeded from the OS, without a system call per message.
        URL_SAFE_NO_PAD.encode_string(fastrand::u128(..).to_be_bytes(), &mut token);
        let nonce_to = token.len();
        let mut mac = key.mac();
        absorb(
            &mut mac,
            key.id(),
            &token[issued_from..issued_to],
            &token[issued_to + 1..nonce_to],
            context,
            body,
        );
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        token
    }

    /// Checks `token` against `body` sent to `context`. Only the MAC is
    /// checked here; the issued-at window and replays are [`super::ReplayGuard`]'s.
    pub fn open(
        ring: &KeyRing,
        token: &str,
        context: &SealContext<'_>,
        body: &[u8],
    ) -> Result<Seal, AuthError> {
        let mut parts = token.trim().split('.');
        let (Some(format), Some(key_id), Some(issued), Some(nonce), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(AuthError::Malformed(
                "expected 1.KEY_ID.ISSUED_AT.NONCE.MAC".to_owned(),
            ));
        };
        if format != FORMAT {
            return Err(AuthError::Malformed(format!(
                "unknown seal format `{format}` (this release speaks {FORMAT})"
            )));
        }
        let issued_at_ms: u64 = issued
            .parse()
            .map_err(|_| AuthError::Malformed(format!("issued-at `{issued}` is not a number")))?;
        let nonce_bytes: [u8; NONCE_BYTES] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                AuthError::Malformed("the nonce is not 16 base64url bytes".to_owned())
            })?;
        let mac_bytes: [u8; MAC_BYTES] = URL_SAFE_NO_PAD
            .decode(mac)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuthError::Malformed("the MAC is not 32 base64url bytes".to_owned()))?;
        let key = ring.find(key_id)?;
        let mut expected = key.mac();
        absorb(&mut expected, key.id(), issued, nonce, context, body);
        // Constant-time comparison.
        expected
            .verify_slice(&mac_bytes)
            .map_err(|_| AuthError::BadMac)?;
        Ok(Seal {
            issued_at_ms,
            nonce: u128::from_be_bytes(nonce_bytes),
        })
    }

    /// A KV value: the seal of `body` for `context`, a newline, `body`.
    pub fn wrap_value(
        ring: &KeyRing,
        context: &SealContext<'_>,
        body: &[u8],
        issued_at_ms: u64,
    ) -> Vec<u8> {
        let token = Self::create(ring, context, body, issued_at_ms);
        let mut out = Vec::with_capacity(token.len() + 1 + body.len());
        out.extend_from_slice(token.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    }

    /// Opens a KV value written by [`Seal::wrap_value`]: the seal and the body.
    pub fn unwrap_value<'v>(
        ring: &KeyRing,
        context: &SealContext<'_>,
        value: &'v [u8],
    ) -> Result<(Seal, &'v [u8]), AuthError> {
        let newline = value
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(AuthError::Missing)?;
        let token = std::str::from_utf8(&value[..newline]).map_err(|_| AuthError::Missing)?;
        if !token.starts_with(FORMAT) || !token.contains('.') {
            return Err(AuthError::Missing);
        }
        let body = &value[newline + 1..];
        Ok((Self::open(ring, token, context, body)?, body))
    }
}

fn absorb(
    mac: &mut super::key::HmacSha256,
    key_id: &str,
    issued: &str,
    nonce: &str,
    context: &SealContext<'_>,
    body: &[u8],
) {
    mac.update(DOMAIN);
    for part in [key_id, issued, nonce] {
        mac.update(part.as_bytes());
        mac.update(b"\n");
    }
    context.absorb(mac);
    mac.update(b"\n");
    mac.update(body);
}

#[cfg(test)]
mod tests {
    use super::super::key::LatticeKey;
    use super::*;
    use crate::LatticeId;

    fn ring(seed: &str) -> KeyRing {
        KeyRing::new(LatticeKey::derive(seed, &LatticeId::default()))
    }

    #[test]
    fn a_seal_opens_only_for_the_same_key_context_and_body() {
        let ring = ring("SCone");
        let m1 = SealContext::message("floe.default.rpc.M1", None);
        let token = Seal::create(&ring, &m1, b"body", 1234);
        let seal = Seal::open(&ring, &token, &m1, b"body").expect("opens");
        assert_eq!(seal.issued_at_ms, 1234);
        assert_eq!(
            Seal::open(
                &ring,
                &token,
                &SealContext::message("floe.default.rpc.M2", None),
                b"body"
            ),
            Err(AuthError::BadMac)
        );
        assert_eq!(
            Seal::open(&ring, &token, &m1, b"bodY"),
            Err(AuthError::BadMac)
        );
        let other = KeyRing::new(LatticeKey::derive("SCtwo", &LatticeId::default()));
        assert!(matches!(
            Seal::open(&other, &token, &m1, b"body"),
            Err(AuthError::UnknownKey { .. })
        ));
        // A forged MAC under the right key id.
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "{}.{}.{}.{}.{}",
            parts[0],
            parts[1],
            parts[2],
            parts[3],
            URL_SAFE_NO_PAD.encode([7u8; 32])
        );
        assert_eq!(
            Seal::open(&ring, &forged, &m1, b"body"),
            Err(AuthError::BadMac)
        );
        // Changing the issued-at breaks the MAC too.
        let moved = format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], "99999", parts[3], parts[4]
        );
        assert_eq!(
            Seal::open(&ring, &moved, &m1, b"body"),
            Err(AuthError::BadMac)
        );
    }

    #[test]
    fn the_mac_covers_the_documented_layout() {
        let ring = ring("SCone");
        let context = SealContext::message("floe.default.rpc.M1", Some("_INBOX.x.7"));
        let token = Seal::create(&ring, &context, b"body", 1234);
        let parts: Vec<&str> = token.split('.').collect();
        let mut mac = ring.signing().mac();
        mac.update(
            format!(
                "floe-mac-1\n{}\n{}\n{}\nmsg floe.default.rpc.M1 _INBOX.x.7\nbody",
                parts[1], parts[2], parts[3]
            )
            .as_bytes(),
        );
        assert_eq!(parts[0], "1");
        assert_eq!(parts[2], "1234");
        assert_eq!(
            parts[4],
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
    }

    #[test]
    fn nonces_differ_and_garbage_is_malformed() {
        let ring = ring("SCone");
        let s = SealContext::message("s", None);
        let a = Seal::create(&ring, &s, b"", 1);
        let b = Seal::create(&ring, &s, b"", 1);
        assert_ne!(a, b);
        for bad in [
            "",
            "1",
            "2.a.1.n.m",
            "1.a.x.n.m",
            "1.a.1.n.m",
            "1.a.1.n.m.extra",
        ] {
            assert!(
                matches!(
                    Seal::open(&ring, bad, &s, b""),
                    Err(AuthError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn kv_values_round_trip_and_plain_values_are_unsealed() {
        let ring = ring("SCone");
        let ctx = SealContext::kv("floe-default", "link.a");
        let value = Seal::wrap_value(&ring, &ctx, b"{\"a\":1}", 5);
        let (seal, body) = Seal::unwrap_value(&ring, &ctx, &value).expect("opens");
        assert_eq!((seal.issued_at_ms, body), (5, &b"{\"a\":1}"[..]));
        assert_eq!(
            Seal::unwrap_value(&ring, &SealContext::kv("floe-default", "link.b"), &value)
                .map(|_| ()),
            Err(AuthError::BadMac)
        );
        assert_eq!(
            Seal::unwrap_value(&ring, &ctx, b"{\"a\":1}").map(|_| ()),
            Err(AuthError::Missing)
        );
    }
}
