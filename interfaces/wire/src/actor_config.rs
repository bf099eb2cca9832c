//! An actor's config as stored in the lattice (`floe config put`): the
//! values every replica of the actor reads through `wasi:config`, on every
//! host, over those its start or app gave it. Kept in the lattice's KV
//! bucket under `config.{actor id}`, sealed like links.

use serde::{Deserialize, Serialize};

use crate::control::StringMap;

/// The KV key prefix of actors' config records.
pub const CONFIG_KEY_PREFIX: &str = "config.";

/// The KV key of `actor`'s config record.
pub fn config_key(actor: &str) -> String {
    format!("{CONFIG_KEY_PREFIX}{actor}")
}

/// The actor id a config record's key names.
pub fn actor_of_key(key: &str) -> Option<&str> {
    key.strip_prefix(CONFIG_KEY_PREFIX)
}

/// One actor's config record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorConfigRecord {
    /// `wasi:config` keys and values; they win over the start's and app's.
    #[serde(default)]
    pub values: StringMap,
}

/// A `wasi:config` key that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid config key: use 1 to 256 characters without '=' or control characters"
)]
pub struct BadConfigKey(pub String);

/// Checks a `wasi:config` key: not empty, at most 256 bytes, no `=`, no
/// control character.
pub fn check_config_key(key: &str) -> Result<(), BadConfigKey> {
    if key.is_empty() || key.len() > 256 || key.contains('=') || key.chars().any(char::is_control) {
        return Err(BadConfigKey(key.to_owned()));
    }
    Ok(())
}
