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
//! re-aimed: [`message_context`] — the NATS subject and, for a request, the
//! subject its reply must go to (a reply is sealed for the requester's
//! inbox) — or [`kv_context`] for a KV entry. The two never coincide.
//! A message carries its seal in the [`AUTH_HEADER`] header; a KV value is
//! the seal, a newline, then the body.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;

use super::AuthError;
use super::key::{KeyRing, LatticeKey};

/// The NATS header that carries a message's seal.
pub const AUTH_HEADER: &str = "Floe-Auth";

const FORMAT: &str = "1";
const DOMAIN: &[u8] = b"floe-mac-1\n";
const NONCE_BYTES: usize = 16;
const MAC_BYTES: usize = 32;

/// The context a message is sealed for: `msg SUBJECT`, or
/// `msg SUBJECT REPLY` for a request (NATS subjects hold no spaces).
pub fn message_context(subject: &str, reply: Option<&str>) -> String {
    match reply {
        Some(reply) => format!("msg {subject} {reply}"),
        None => format!("msg {subject}"),
    }
}

/// The context a KV entry is sealed for: `kv BUCKET KEY`.
pub fn kv_context(bucket: &str, key: &str) -> String {
    format!("kv {bucket} {key}")
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
    pub fn create(ring: &KeyRing, context: &str, body: &[u8], issued_at_ms: u64) -> String {
        let key = ring.signing();
        // Unique, not secret (the MAC covers it): a per-thread generator
        // seeded from the OS, without a system call per message.
        let nonce = URL_SAFE_NO_PAD.encode(fastrand::u128(..).to_be_bytes());
        let issued = issued_at_ms.to_string();
        let mac = compute(key, &issued, &nonce, context, body);
        let mut token = String::with_capacity(100);
        for (i, part) in [
            FORMAT,
            key.id(),
            &issued,
            &nonce,
            &URL_SAFE_NO_PAD.encode(mac),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                token.push('.');
            }
            token.push_str(part);
        }
        token
    }

    /// Checks `token` against `body` sent to `context`. Only the MAC is
    /// checked here; the issued-at window and replays are [`super::ReplayGuard`]'s.
    pub fn open(
        ring: &KeyRing,
        token: &str,
        context: &str,
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
    pub fn wrap_value(ring: &KeyRing, context: &str, body: &[u8], issued_at_ms: u64) -> Vec<u8> {
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
        context: &str,
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

fn compute(
    key: &LatticeKey,
    issued: &str,
    nonce: &str,
    context: &str,
    body: &[u8],
) -> [u8; MAC_BYTES] {
    let mut mac = key.mac();
    absorb(&mut mac, key.id(), issued, nonce, context, body);
    mac.finalize().into_bytes().into()
}

fn absorb(
    mac: &mut super::key::HmacSha256,
    key_id: &str,
    issued: &str,
    nonce: &str,
    context: &str,
    body: &[u8],
) {
    mac.update(DOMAIN);
    for part in [key_id, issued, nonce, context] {
        mac.update(part.as_bytes());
        mac.update(b"\n");
    }
    mac.update(body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LatticeId;

    fn ring(seed: &str) -> KeyRing {
        KeyRing::new(LatticeKey::derive(seed, &LatticeId::default()))
    }

    #[test]
    fn a_seal_opens_only_for_the_same_key_context_and_body() {
        let ring = ring("SCone");
        let token = Seal::create(&ring, "floe.default.rpc.M1", b"body", 1234);
        let seal = Seal::open(&ring, &token, "floe.default.rpc.M1", b"body").expect("opens");
        assert_eq!(seal.issued_at_ms, 1234);
        assert_eq!(
            Seal::open(&ring, &token, "floe.default.rpc.M2", b"body"),
            Err(AuthError::BadMac)
        );
        assert_eq!(
            Seal::open(&ring, &token, "floe.default.rpc.M1", b"bodY"),
            Err(AuthError::BadMac)
        );
        let other =
            super::super::key::KeyRing::new(LatticeKey::derive("SCtwo", &LatticeId::default()));
        assert!(matches!(
            Seal::open(&other, &token, "floe.default.rpc.M1", b"body"),
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
            Seal::open(&ring, &forged, "floe.default.rpc.M1", b"body"),
            Err(AuthError::BadMac)
        );
        // Changing the issued-at breaks the MAC too.
        let moved = format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], "99999", parts[3], parts[4]
        );
        assert_eq!(
            Seal::open(&ring, &moved, "floe.default.rpc.M1", b"body"),
            Err(AuthError::BadMac)
        );
    }

    #[test]
    fn nonces_differ_and_garbage_is_malformed() {
        let ring = ring("SCone");
        let a = Seal::create(&ring, "s", b"", 1);
        let b = Seal::create(&ring, "s", b"", 1);
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
                    Seal::open(&ring, bad, "s", b""),
                    Err(AuthError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn kv_values_round_trip_and_plain_values_are_unsealed() {
        let ring = ring("SCone");
        let ctx = kv_context("floe-default", "link.a");
        let value = Seal::wrap_value(&ring, &ctx, b"{\"a\":1}", 5);
        let (seal, body) = Seal::unwrap_value(&ring, &ctx, &value).expect("opens");
        assert_eq!((seal.issued_at_ms, body), (5, &b"{\"a\":1}"[..]));
        assert_eq!(
            Seal::unwrap_value(&ring, &kv_context("floe-default", "link.b"), &value).map(|_| ()),
            Err(AuthError::BadMac)
        );
        assert_eq!(
            Seal::unwrap_value(&ring, &ctx, b"{\"a\":1}").map(|_| ()),
            Err(AuthError::Missing)
        );
    }
}
