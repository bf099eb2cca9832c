//! What a host tells a provider it starts: the host data, one JSON document
//! on the provider's stdin (docs/providers.md). It carries everything a
//! provider needs to join the lattice: where NATS is and how to log in, its
//! own id, the lattice keys to seal and verify with, and its config.

use serde::{Deserialize, Serialize};

use crate::control::StringMap;

/// The host data format this release writes.
pub const HOST_DATA_VERSION: u16 = 1;

/// One lattice key, as a provider receives it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyData {
    /// The key id carried in seals.
    pub id: String,
    /// The 32-byte key, base64 (standard alphabet, padded).
    pub key: String,
}

impl std::fmt::Debug for KeyData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyData")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The host data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostData {
    pub v: u16,
    pub lattice: String,
    /// The host that started this replica.
    pub host_id: String,
    /// This provider's id (`V…`); replicas on other hosts share it.
    pub provider_id: String,
    pub name: String,
    /// NATS server(s), comma-separated.
    pub nats_url: String,
    /// A NATS credentials file on this machine, when the host uses one.
    #[serde(default)]
    pub nats_creds: Option<String>,
    /// Seal with the first; accept any (several during a seed rotation).
    pub lattice_keys: Vec<KeyData>,
    /// The replay window: how old a message may be, and how far ahead.
    pub auth_window_ms: u64,
    pub auth_skew_ms: u64,
    #[serde(default)]
    pub config: StringMap,
    #[serde(default)]
    pub annotations: StringMap,
}

/// The body of a `prov.{provider}.{host}.health` reply payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub healthy: bool,
    #[serde(default)]
    pub message: Option<String>,
}
