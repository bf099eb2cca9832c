//! The config each running actor reads through `wasi:config` (docs/secrets.md,
//! "Config that changes"): its start's or app's values, the values stored
//! in the lattice for it (`config.{actor}`, `floe config put`) over those,
//! and the secrets it maps over both. Recomputed and swapped into the
//! actor's handle whenever one of them changes, so the next call reads the
//! new value with no restart. Follows the lattice bucket's `config.`
//! prefix and the whole secrets bucket (whose key record wakes `rekey`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use floe_lattice::LatticeAuth;
use floe_wire::actor_config::{CONFIG_KEY_PREFIX, check_config_key};
use floe_wire::control::StringMap;
use floe_wire::secrets::KEY_RECORD;
use tokio::sync::Notify;

use crate::actors::{ActorHandle, ActorTable, ConfigSpec};
use crate::runtime::{ActorConfig, ConfigValue};
use crate::secrets::{HostSecrets, SecretUseError};
use crate::tasks::Tasks;

/// Why a start's or update's config was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    BadKey(#[from] floe_wire::actor_config::BadConfigKey),
    #[error(transparent)]
    Secret(#[from] SecretUseError),
    #[error("cannot watch {what}: {reason}")]
    Watch { what: &'static str, reason: String },
}

/// The stored values of one actor and when their entry was sealed.
#[derive(Debug, Default)]
struct Stored {
    values: StringMap,
    issued_at_ms: u64,
}

/// Every running actor's config, kept current.
#[derive(Debug)]
pub struct LiveConfig {
    actors: Arc<ActorTable>,
    secrets: Arc<HostSecrets>,
    stored: RwLock<HashMap<String, Stored>>,
    /// Woken when the secrets-key record changes (`rekey`).
    pub key_record_changed: Arc<Notify>,
}

impl LiveConfig {
    pub fn new(actors: Arc<ActorTable>, secrets: Arc<HostSecrets>) -> Self {
        LiveConfig {
            actors,
            secrets,
            stored: RwLock::new(HashMap::new()),
            key_record_changed: Arc::new(Notify::new()),
        }
    }

    pub fn secrets(&self) -> &Arc<HostSecrets> {
        &self.secrets
    }

    /// The config a start or update of actor `id` (named `name`) with
    /// `spec` gives it: each secret read from the bucket now and checked
    /// (missing, not allowed, not openable here, not text: refused, the
    /// secret named).
    pub async fn resolve(
        &self,
        id: &str,
        name: &str,
        spec: &ConfigSpec,
    ) -> Result<ActorConfig, ConfigError> {
        for key in spec.config.keys().chain(spec.secrets.keys()) {
            check_config_key(key)?;
        }
        let changed =
            futures::future::try_join_all(spec.secrets.values().map(|s| self.secrets.fetch(s)))
                .await?;
        // A version read here first reaches the other actors reading it now.
        for (secret, changed) in spec.secrets.values().zip(changed) {
            if changed {
                self.refresh_readers(secret);
            }
        }
        Ok(self.compose(id, name, spec, true)?)
    }

    /// Recomputes `handle`'s config from what this host holds now; a secret
    /// that can no longer be read (deleted, allow-list changed) is left
    /// out and logged by name.
    pub fn refresh(&self, handle: &ActorHandle) {
        let name = handle.replica.version().claims.floe.name.clone();
        if let Ok(config) = self.compose(&handle.id, &name, &handle.spec(), false) {
            handle.set_config(config);
        }
    }

    fn compose(
        &self,
        id: &str,
        name: &str,
        spec: &ConfigSpec,
        strict: bool,
    ) -> Result<ActorConfig, SecretUseError> {
        let mut values: BTreeMap<String, ConfigValue> = spec
            .config
            .iter()
            .map(|(k, v)| (k.clone(), ConfigValue::Plain(v.clone())))
            .collect();
        if let Some(stored) = self.read().get(id) {
            for (k, v) in &stored.values {
                values.insert(k.clone(), ConfigValue::Plain(v.clone()));
            }
        }
        for (key, secret) in &spec.secrets {
            let value = self
                .secrets
                .value_for(secret, id, Some(name))
                .and_then(|v| match v.as_text() {
                    Some(_) => Ok(v),
                    None => Err(SecretUseError::NotText {
                        name: secret.clone(),
                    }),
                });
            match value {
                Ok(value) => {
                    values.insert(key.clone(), ConfigValue::Secret(value));
                }
                Err(e) if strict => return Err(e),
                Err(e) => {
                    values.remove(key);
                    tracing::warn!(actor = %id, key = %key, secret = %secret, "config key left out: {e}");
                }
            }
        }
        Ok(ActorConfig::new(values))
    }

    /// Applies one entry of the `config.` prefix.
    fn apply_config_entry(&self, auth: &LatticeAuth, entry: &kv::Entry) {
        let Some(read) = floe_lattice::actor_config::read_entry(auth, entry) else {
            tracing::warn!(key = %entry.key, "ignoring a config entry that is not authentic");
            return;
        };
        {
            let mut stored = self.write();
            let kept = stored.entry(read.actor.clone()).or_default();
            if read.issued_at_ms < kept.issued_at_ms {
                tracing::warn!(actor = %read.actor, "ignoring a config entry older than the one in force");
                return;
            }
            kept.issued_at_ms = read.issued_at_ms;
            kept.values = read.record.map(|r| r.values).unwrap_or_default();
        }
        if let Some(handle) = self.actors.get(&read.actor) {
            self.refresh(&handle);
            tracing::info!(actor = %read.actor, "stored config applied");
        }
    }

    /// Applies one entry of the secrets bucket.
    fn apply_secrets_entry(&self, entry: &kv::Entry) {
        if entry.key == KEY_RECORD {
            self.key_record_changed.notify_one();
            return;
        }
        if let Some(name) = self.secrets.apply_entry(entry) {
            self.refresh_readers(&name);
        }
    }

    /// Recomputes the config of every running actor reading secret `name`.
    fn refresh_readers(&self, name: &str) {
        for handle in self.actors.all() {
            if handle.spec().secrets.values().any(|s| s == name) {
                self.refresh(&handle);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Stored>> {
        self.stored
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Stored>> {
        self.stored
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Follows stored config in `lattice_kv` and the secrets bucket until the
/// host stops. Each watch replays the current entries first.
pub async fn follow(
    live: Arc<LiveConfig>,
    auth: Arc<LatticeAuth>,
    tasks: &Tasks,
    lattice_kv: kv::Store,
) -> Result<(), ConfigError> {
    let mut config = floe_lattice::KeyWatch::start(lattice_kv, CONFIG_KEY_PREFIX)
        .await
        .map_err(|e| ConfigError::Watch {
            what: "actors' stored config",
            reason: e.to_string(),
        })?;
    let mut secrets = floe_lattice::KeyWatch::start(live.secrets.bucket().store().clone(), "")
        .await
        .map_err(|e| ConfigError::Watch {
            what: "the secrets bucket",
            reason: e.to_string(),
        })?;
    let stopping = tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                () = stopping.stopping() => return,
                entry = config.next() => live.apply_config_entry(&auth, &entry),
                entry = secrets.next() => live.apply_secrets_entry(&entry),
            }
        }
    });
    Ok(())
}
