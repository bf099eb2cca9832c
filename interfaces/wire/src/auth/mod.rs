//! The authenticated lattice: every message a Floe process publishes on a
//! lattice's subjects, and every entry it writes to the lattice's KV bucket,
//! carries a MAC under the *lattice key*, a key derived from the cluster
//! seed (`C…`) that the lattice's hosts share.
//!
//! The MAC travels as one token (see [`seal`]): in the `Floe-Auth` NATS
//! header of a message, or on the first line of a KV value. It covers the
//! exact bytes of the body, so JSON stays JSON and msgpack stays msgpack,
//! with no canonical form to agree on; and it covers where the bytes were
//! sent (the subject and reply subject, or the bucket and key), so an
//! authentic message cannot be re-aimed. HMAC-SHA256 was chosen over keyed BLAKE3 so a provider in any
//! language can speak the protocol with its standard library (`make bench`
//! measures both; docs/benchmarks.md has the figures).
//!
//! # Layout
//! - [`key`]: deriving the lattice key and its id from a cluster seed; the
//!   [`KeyRing`] of one signing key and the keys still accepted (rotation).
//! - [`seed`]: finding the cluster seed (flag, environment, `$FLOE_HOME`),
//!   or generating and saving one.
//! - [`seal`]: the token format, sealing and opening.
//! - [`replay`]: the issued-at window and the id cache against replays.

pub mod key;
pub mod replay;
pub mod seal;
pub mod seed;

pub use key::{KeyRing, LatticeKey};
pub use replay::{ReplayGuard, ReplayPolicy};
pub use seal::{AUTH_HEADER, Seal, SealContext};
pub use seed::{ClusterSeed, SeedOrigin};

/// Why a message or KV entry was not accepted as authentic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("it carries no lattice MAC (the sender does not hold this lattice's key)")]
    Missing,
    #[error("its lattice MAC is malformed: {0}")]
    Malformed(String),
    #[error(
        "it is sealed with key {key_id}, which this process does not hold (a different cluster seed?)"
    )]
    UnknownKey { key_id: String },
    #[error("its MAC does not verify (altered in transit, or sealed for another subject)")]
    BadMac,
    #[error(
        "it was issued {age_ms} ms ago, outside the accepted window (replayed, or clocks apart)"
    )]
    Stale { age_ms: u64 },
    #[error("it was issued {ahead_ms} ms in the future, beyond the tolerated clock skew")]
    Future { ahead_ms: u64 },
    #[error("it was already received once (a replay)")]
    Replayed,
}

impl AuthError {
    /// A short stable name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed(_) => "malformed",
            AuthError::UnknownKey { .. } => "unknown_key",
            AuthError::BadMac => "bad_mac",
            AuthError::Stale { .. } => "stale",
            AuthError::Future { .. } => "future",
            AuthError::Replayed => "replayed",
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
