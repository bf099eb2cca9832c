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
    /// The secrets its start named, by key (`--secret KEY=SECRET`), opened
    /// by the host; never printed.
    #[serde(default, skip_serializing_if = "ProviderSecrets::is_empty")]
    pub secrets: ProviderSecrets,
}

/// Secret values a provider receives on stdin, by key: `Debug` shows keys
/// only, and the values are wiped when dropped.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderSecrets(std::collections::BTreeMap<String, String>);

impl ProviderSecrets {
    pub fn insert(&mut self, key: String, value: String) {
        self.0.insert(key, value);
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for ProviderSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Drop for ProviderSecrets {
    fn drop(&mut self) {
        for value in self.0.values_mut() {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

/// The body of a `prov.{provider}.{host}.health` reply payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub healthy: bool,
    #[serde(default)]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_travel_in_the_host_data_and_never_print() {
        let mut secrets = ProviderSecrets::default();
        secrets.insert("token".into(), "hunter2".into());
        let json = r#"{"v":1,"lattice":"l","host_id":"N","provider_id":"V","name":"p","nats_url":"nats://x","lattice_keys":[],"auth_window_ms":1,"auth_skew_ms":1,"secrets":{"token":"hunter2"}}"#;
        let data: HostData = serde_json::from_str(json).expect("parses");
        assert_eq!(data.secrets, secrets);
        assert_eq!(data.secrets.get("token"), Some("hunter2"));
        assert!(!format!("{data:?}").contains("hunter2"), "{data:?}");
        let without: HostData =
            serde_json::from_str(&json.replace(r#","secrets":{"token":"hunter2"}"#, ""))
                .expect("an older host's data parses");
        assert!(without.secrets.is_empty());
        assert!(
            !serde_json::to_string(&without)
                .expect("json")
                .contains("secrets")
        );
    }
}
