//! [`SecretsKeyRecord`]: which secrets key the lattice seals to, kept in
//! the secrets bucket under [`KEY_RECORD`]. `floe secret put` seals to its
//! `current` key; `floe secret rotate-key` makes another key current and
//! lists the one it replaces as retiring, and the reconciler's leader
//! re-seals every entry to the current key, then clears `retiring`.

use serde::{Deserialize, Serialize};

/// The KV key of the record in the secrets bucket.
pub const KEY_RECORD: &str = "secretskey";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsKeyRecord {
    /// The id (public key) new values and re-seals are sealed to.
    pub current: String,
    /// Keys entries may still be sealed to until the re-seal is done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retiring: Vec<String>,
    /// When `current` became current (Unix milliseconds).
    pub since_ms: u64,
}
