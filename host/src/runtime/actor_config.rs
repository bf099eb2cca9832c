//! [`ActorConfig`]: what an actor reads through `wasi:config` — plain
//! values and secrets, which stay [`SecretValue`]s (wiped when dropped,
//! never printed) until the guest reads one.

use std::collections::BTreeMap;
use std::sync::Arc;

use floe_wire::secrets::SecretValue;

/// Why a value cannot be read (the `wasi:config` error's shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The secret behind the key is not text.
    NotText(String),
}

/// One config value (`Debug` shows a secret as `[REDACTED]`).
#[derive(Clone, Debug)]
pub enum ConfigValue {
    Plain(String),
    /// A secret's value, read as text.
    Secret(Arc<SecretValue>),
}

/// What an actor reads through `wasi:config`. `Debug` shows keys only.
#[derive(Clone, Default)]
pub struct ActorConfig {
    values: BTreeMap<String, ConfigValue>,
}

impl std::fmt::Debug for ActorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl ActorConfig {
    pub(super) fn keys(&self) -> impl Iterator<Item = &String> {
        self.values.keys()
    }

    pub fn new(values: BTreeMap<String, ConfigValue>) -> Self {
        ActorConfig { values }
    }

    /// Plain values only.
    pub fn from_map(map: &floe_wire::control::StringMap) -> Self {
        ActorConfig {
            values: map
                .iter()
                .map(|(k, v)| (k.clone(), ConfigValue::Plain(v.clone())))
                .collect(),
        }
    }

    /// The value of `key` as the guest reads it.
    pub(super) fn text(&self, key: &str) -> Result<Option<String>, ReadError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(ConfigValue::Plain(v)) => Ok(Some(v.clone())),
            Some(ConfigValue::Secret(secret)) => secret
                .as_text()
                .map(|t| Some(t.to_owned()))
                .ok_or_else(|| ReadError::NotText(key.to_owned())),
        }
    }
}
