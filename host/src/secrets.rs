//! The secrets this host can open (docs/secrets.md): its secrets keys
//! (`--secrets-key`, else derived from the cluster seeds it accepts), the
//! lattice's secrets bucket, and the entries it saw, by name — each the
//! highest version seen, opened only once an actor or provider here needs
//! it. A start reads each secret it uses from the bucket
//! itself (a value put just before is there; a bucket out of reach
//! refuses the start); the bucket's watch (`live_config`) keeps opened
//! secrets current for running actors. Errors and log lines name a
//! secret, never its value.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use floe_lattice::secrets::{SecretChange, Secrets};
use floe_wire::LatticeId;
use floe_wire::control::ControlCode;
use floe_wire::secrets::{
    SealedSecret, SecretError, SecretValue, SecretsKey, SecretsKeyRing, allows,
};

use crate::config::SecretsKeySource;

/// Why a secret cannot be used by an actor or provider. Names the secret,
/// never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretUseError {
    #[error("secret {name} does not exist (store it with `floe secret put {name} --allow …`)")]
    Missing { name: String },
    #[error(
        "{entity} may not read secret {name}: its allow-list does not name it (put the secret again with --allow {entity})"
    )]
    NotAllowed { name: String, entity: String },
    #[error(transparent)]
    Unopened(#[from] SecretError),
    #[error("cannot read secret {name} from the secrets bucket: {reason} (try again)")]
    Unreachable { name: String, reason: String },
    #[error(
        "secret {name} is not UTF-8 text, and wasi:config values are strings (store it as text, e.g. base64)"
    )]
    NotText { name: String },
}

impl SecretUseError {
    pub fn code(&self) -> ControlCode {
        match self {
            SecretUseError::Unreachable { .. } => ControlCode::Unavailable,
            _ => ControlCode::Secret,
        }
    }
}

/// One secret as this host last saw it: the entry, and its value once an
/// actor or provider here needed it (a host opens only what it serves).
#[derive(Debug)]
struct Seen {
    sealed: SealedSecret,
    /// The value, or why this host cannot open it; `None` until needed.
    opened: Option<Result<Arc<SecretValue>, SecretError>>,
}

/// The secrets this host holds keys for, and what it opened.
#[derive(Debug)]
pub struct HostSecrets {
    ring: SecretsKeyRing,
    bucket: Secrets,
    seen: RwLock<HashMap<String, Seen>>,
    /// Per secret, the highest version seen deleted: older ones are stale.
    floors: RwLock<HashMap<String, u64>>,
    /// Bumped at every change of what readers here get (ingress reloads
    /// its certificates on it).
    changed: tokio::sync::watch::Sender<u64>,
}

impl HostSecrets {
    pub fn new(ring: SecretsKeyRing, bucket: Secrets) -> Self {
        HostSecrets {
            ring,
            bucket,
            seen: RwLock::new(HashMap::new()),
            floors: RwLock::new(HashMap::new()),
            changed: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Changes as they happen (the value only counts them).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// The ids of the secrets keys this host holds.
    pub fn key_ids(&self) -> Vec<String> {
        self.ring.ids()
    }

    pub fn ring(&self) -> &SecretsKeyRing {
        &self.ring
    }

    pub fn bucket(&self) -> &Secrets {
        &self.bucket
    }

    /// Applies one entry of the bucket's watch; returns the name of the
    /// secret it changed, if any. Entries that are not authentic are
    /// ignored and logged by name.
    pub fn apply_entry(&self, entry: &kv::Entry) -> Option<String> {
        match self.bucket.read_entry(entry) {
            Ok(SecretChange::Put(sealed)) => {
                let name = sealed.name.clone();
                let changed = self.keep(sealed, false);
                if changed {
                    self.bump();
                }
                changed.then_some(name)
            }
            Ok(SecretChange::Removed { name, version }) => {
                self.raise_floor(&name, version);
                let removed = self.write().remove(&name).is_some();
                if removed {
                    tracing::warn!(secret = %name, "secret deleted: actors reading it no longer see it");
                    self.bump();
                }
                removed.then_some(name)
            }
            Err(floe_lattice::secrets::SecretEntryError::NotASecret(_)) => None,
            Err(e) => {
                tracing::warn!("ignoring an entry of the secrets bucket: {e}");
                None
            }
        }
    }

    /// Keeps `sealed` unless a later version is kept; opens it now when
    /// asked or when the version it replaces was open (someone here reads
    /// it). True when it changed what readers here would get.
    fn keep(&self, sealed: SealedSecret, open_now: bool) -> bool {
        if self.floor(&sealed.name) >= sealed.version {
            tracing::warn!(secret = %sealed.name, version = sealed.version, "ignoring a version of a secret deleted since");
            return false;
        }
        let mut seen = self.write();
        let name = sealed.name.clone();
        let eager = match seen.get_mut(&name) {
            Some(kept) if kept.sealed.version > sealed.version => {
                tracing::warn!(secret = %name, version = sealed.version, kept = kept.sealed.version, "ignoring an older version of a secret");
                return false;
            }
            Some(kept) if kept.sealed == sealed => {
                if open_now && kept.opened.is_none() {
                    kept.opened = Some(self.open(&kept.sealed));
                }
                return false;
            }
            // The same version sealed to another key (a re-key): the value
            // already open stays; the new box is kept for later opens.
            Some(kept)
                if kept.sealed.version == sealed.version
                    && kept.sealed.allow == sealed.allow
                    && matches!(kept.opened, Some(Ok(_))) =>
            {
                kept.sealed = sealed;
                return false;
            }
            Some(kept) => open_now || kept.opened.is_some(),
            None => open_now,
        };
        let opened = eager.then(|| self.open(&sealed));
        seen.insert(name, Seen { sealed, opened });
        true
    }

    fn open(&self, sealed: &SealedSecret) -> Result<Arc<SecretValue>, SecretError> {
        let (name, version) = (&sealed.name, sealed.version);
        let opened = sealed.open(&self.ring).map(Arc::new);
        match &opened {
            Ok(_) => tracing::info!(secret = %name, version, "secret opened"),
            Err(e) => tracing::warn!(secret = %name, version, "secret cannot be opened here: {e}"),
        }
        opened
    }

    /// The highest version of `name` deleted, as far as this host saw.
    fn floor(&self, name: &str) -> u64 {
        self.floors
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    fn raise_floor(&self, name: &str, version: u64) {
        let mut floors = self
            .floors
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let floor = floors.entry(name.to_owned()).or_default();
        *floor = (*floor).max(version);
    }

    /// Reads `name` from the bucket and keeps it (a start's fresh read);
    /// true when that changed what readers here get. It is opened only
    /// by `value_for`, after the reader's allow-list check.
    pub async fn fetch(&self, name: &str) -> Result<bool, SecretUseError> {
        let read = self.bucket.get(name).await.map_err(|e| match e {
            floe_lattice::secrets::SecretStoreError::Secret(e) => SecretUseError::Unopened(e),
            other => SecretUseError::Unreachable {
                name: name.to_owned(),
                reason: other.to_string(),
            },
        })?;
        let Some((sealed, _)) = read else {
            return Err(SecretUseError::Missing {
                name: name.to_owned(),
            });
        };
        let changed = self.keep(sealed, false);
        if changed {
            self.bump();
        }
        Ok(changed)
    }

    /// The value of `name` for the entity `id` (an actor named
    /// `entity_name`), opened now if no one here needed it before.
    pub fn value_for(
        &self,
        name: &str,
        id: &str,
        entity_name: Option<&str>,
    ) -> Result<Arc<SecretValue>, SecretUseError> {
        let sealed = {
            let seen = self.read();
            let Some(kept) = seen.get(name) else {
                return Err(SecretUseError::Missing {
                    name: name.to_owned(),
                });
            };
            if !allows(&kept.sealed.allow, id, entity_name) {
                return Err(SecretUseError::NotAllowed {
                    name: name.to_owned(),
                    entity: entity_name.map_or_else(|| id.to_owned(), |n| format!("{n} ({id})")),
                });
            }
            if let Some(opened) = &kept.opened {
                return opened.clone().map_err(SecretUseError::Unopened);
            }
            kept.sealed.clone()
        };
        let opened = self.open(&sealed);
        if let Some(kept) = self.write().get_mut(name)
            && kept.sealed == sealed
        {
            kept.opened = Some(opened.clone());
        }
        opened.map_err(SecretUseError::Unopened)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Seen>> {
        self.seen
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Seen>> {
        self.seen
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Why the host's secrets keys could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read secrets key {source_name}: {reason} (--secrets-key takes an SX… seed, a file holding one, or `cluster`)"
)]
pub struct KeyringError {
    source_name: String,
    reason: String,
}

/// The secrets keys of `sources` (empty: `cluster`); `cluster` derives one
/// from each of `cluster_seeds` for `lattice`.
pub fn keyring(
    sources: &[SecretsKeySource],
    cluster_seeds: &[&str],
    lattice: &LatticeId,
) -> Result<SecretsKeyRing, KeyringError> {
    let default = [SecretsKeySource::Cluster];
    let sources = if sources.is_empty() {
        &default[..]
    } else {
        sources
    };
    let mut keys = Vec::new();
    for source in sources {
        match source {
            SecretsKeySource::Cluster => keys.extend(
                cluster_seeds
                    .iter()
                    .map(|seed| SecretsKey::derive(seed, lattice)),
            ),
            SecretsKeySource::Seed(seed) => {
                keys.push(SecretsKey::from_seed(seed).map_err(|_| KeyringError {
                    source_name: "given on the command line".into(),
                    reason: "not a valid SX… seed".into(),
                })?);
            }
            SecretsKeySource::File(path) => {
                // A mistyped seed would be taken for a path: never echo
                // what does not look like one.
                let shown = path.to_str().filter(|p| p.contains('/')).map_or_else(
                    || "given on the command line (neither a seed nor a path with /)".to_owned(),
                    str::to_owned,
                );
                let failed = |reason: String| KeyringError {
                    source_name: shown.clone(),
                    reason,
                };
                let text = zeroize::Zeroizing::new(
                    std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?,
                );
                keys.push(
                    SecretsKey::from_seed(&text)
                        .map_err(|_| failed("not a valid SX… seed".into()))?,
                );
            }
        }
    }
    let ring = SecretsKeyRing::new(keys);
    tracing::info!(keys = ?ring.ids(), "secrets keys held");
    Ok(ring)
}
