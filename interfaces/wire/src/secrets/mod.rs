//! Secrets (docs/secrets.md): values sealed at rest to the lattice's
//! secrets key, readable only by the actors and providers their
//! allow-list names, never printed.
//!
//! - `name`: secret names, their KV keys, allow-lists.
//! - `value`: [`SecretValue`], wiped on drop, `[REDACTED]` when printed.
//! - `key`: [`SecretsKey`] (X25519) derived from the cluster seed or given,
//!   and the [`SecretsKeyRing`] a host holds.
//! - `sealed`: [`SealedSecret`], one stored entry, and [`seal`].
//! - `record`: the lattice's secrets-key record (which key new values and
//!   re-seals go to).

mod key;
mod name;
mod record;
mod sealed;
mod value;

pub use key::{SecretsKey, SecretsKeyRing};
pub use name::{
    INGRESS_READER, MAX_NAME_LEN, SECRET_KEY_PREFIX, allows, check_allow, check_name, name_of_key,
    secret_key,
};
pub use record::{KEY_RECORD, SecretsKeyRecord};
pub use sealed::{SealedSecret, seal};
pub use value::SecretValue;

/// The largest secret value.
pub const MAX_SECRET_BYTES: usize = 64 << 10;

/// Why a secret could not be stored, opened or used. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "a secret holds at most 64 KiB; this one is {size} bytes (keep a larger object elsewhere and store its credentials as the secret)"
    )]
    TooLarge { size: usize },
    #[error("a secret cannot be empty")]
    Empty,
    #[error(
        "{0:?} is not a valid secret name: use 1 to 64 letters, digits, '_' or '-', a letter or digit first"
    )]
    BadName(String),
    #[error("a secret must allow at least one actor or provider to read it: add --allow ID|NAME")]
    NobodyAllowed,
    #[error(
        "{0:?} in the allow-list is neither an actor or provider id (M…, V…), an actor name, nor @ingress"
    )]
    BadAllowEntry(String),
    #[error("not a secrets key: {0} (a seed starts with SX, a public key with X)")]
    BadKey(String),
    #[error(
        "secret {name} is sealed to secrets key {key}, which this host does not hold (start the host with --secrets-key for that key, or place the actor on hosts that hold it)"
    )]
    NoKey { name: String, key: String },
    #[error("secret {name} does not open: its box was altered or sealed with another key")]
    Tampered { name: String },
    #[error(
        "secret {name} holds the box of {boxed}: a box moved to another name, version or allow-list is refused"
    )]
    Moved { name: String, boxed: String },
    #[error("cannot seal secret {name}: {reason}")]
    Seal { name: String, reason: String },
}

impl SecretError {
    /// A stable code, for refusals and tests.
    pub fn code(&self) -> &'static str {
        match self {
            SecretError::TooLarge { .. } => "too_large",
            SecretError::Empty => "empty",
            SecretError::BadName(_) => "bad_name",
            SecretError::NobodyAllowed => "nobody_allowed",
            SecretError::BadAllowEntry(_) => "bad_allow_entry",
            SecretError::BadKey(_) => "bad_key",
            SecretError::NoKey { .. } => "no_key",
            SecretError::Tampered { .. } => "tampered",
            SecretError::Moved { .. } => "moved",
            SecretError::Seal { .. } => "seal",
        }
    }
}
