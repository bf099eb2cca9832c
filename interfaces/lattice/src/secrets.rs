//! The lattice's secrets bucket (`floe-{lattice}-secrets`): each secret a
//! [`SealedSecret`] under `secret.{name}`, as JSON sealed with the lattice
//! MAC in the context of this bucket; a delete is a sealed tombstone (an
//! empty body), as for links. Writes go by compare-and-set on the entry's
//! revision, so two writers never lose a version. The record under
//! [`KEY_RECORD`] names the secrets key new values are sealed to.

use std::sync::Arc;

use async_nats::jetstream::kv::{self, Operation};
use floe_wire::auth::AuthError;
use floe_wire::secrets::{
    KEY_RECORD, SECRET_KEY_PREFIX, SealedSecret, SecretError, SecretValue, SecretsKey,
    SecretsKeyRecord, SecretsKeyRing, check_allow, check_name, name_of_key, seal, secret_key,
};
use floe_wire::subject::secrets_bucket;

use crate::LatticeAuth;
use crate::bucket::BucketError;

/// How many times a write retries after losing a compare-and-set.
const CAS_ATTEMPTS: u32 = 16;

#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    #[error(transparent)]
    Bucket(#[from] BucketError),
    #[error("cannot read {key} from the secrets bucket: {reason}")]
    Read { key: String, reason: String },
    #[error("cannot write {key} to the secrets bucket: {reason}")]
    Write { key: String, reason: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("secret {0} does not exist (see `floe secret list`)")]
    NotFound(String),
    #[error("{key} changed {CAS_ATTEMPTS} times while this write tried to store it; try again")]
    Contended { key: String },
}

/// What one authentic entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretChange {
    Put(SealedSecret),
    /// Deleted at `version` (the next put is version + 1).
    Removed {
        name: String,
        version: u64,
    },
}

/// What a delete stores: the version deleted, so versions keep rising.
#[derive(serde::Serialize, serde::Deserialize)]
struct Tombstone {
    deleted_version: u64,
}

/// Why an entry was ignored. Names the secret, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretEntryError {
    #[error("{0} is not a secret's key")]
    NotASecret(String),
    #[error(
        "unauthenticated entry for secret {name} (not sealed with this lattice's key): {source}"
    )]
    Unauthenticated { name: String, source: AuthError },
    #[error("malformed entry for secret {name}")]
    Malformed { name: String },
    #[error("the entry stored as secret {name} names secret {named}")]
    WrongName { name: String, named: String },
}

/// The secrets bucket of one lattice.
#[derive(Debug, Clone)]
pub struct Secrets {
    kv: kv::Store,
    auth: Arc<LatticeAuth>,
}

fn stored_ms(entry: &kv::Entry) -> u64 {
    u64::try_from(entry.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Secrets {
    /// Opens (or creates) the lattice's secrets bucket.
    pub async fn open(
        client: &async_nats::Client,
        auth: Arc<LatticeAuth>,
    ) -> Result<Self, BucketError> {
        let bucket = secrets_bucket(auth.lattice());
        let description = format!("Floe lattice {}: sealed secrets", auth.lattice());
        let kv = crate::bucket::open_kv(client, &bucket, &description).await?;
        Ok(Secrets { kv, auth })
    }

    /// The bucket, for watching.
    pub fn store(&self) -> &kv::Store {
        &self.kv
    }

    /// Reads one entry of the bucket, if it is an authentic secret entry.
    pub fn read_entry(&self, entry: &kv::Entry) -> Result<SecretChange, SecretEntryError> {
        let name = name_of_key(&entry.key)
            .ok_or_else(|| SecretEntryError::NotASecret(entry.key.clone()))?;
        if entry.operation != Operation::Put {
            return Err(SecretEntryError::Unauthenticated {
                name: name.to_owned(),
                source: AuthError::Missing,
            });
        }
        let (_, body) = self
            .auth
            .open_value_in(&self.kv.name, &entry.key, &entry.value, stored_ms(entry))
            .map_err(|source| SecretEntryError::Unauthenticated {
                name: name.to_owned(),
                source,
            })?;
        if body.is_empty() {
            return Ok(SecretChange::Removed {
                name: name.to_owned(),
                version: 0,
            });
        }
        let sealed: SealedSecret = match serde_json::from_slice(body) {
            Ok(sealed) => sealed,
            Err(_) => {
                let tombstone: Tombstone =
                    serde_json::from_slice(body).map_err(|_| SecretEntryError::Malformed {
                        name: name.to_owned(),
                    })?;
                return Ok(SecretChange::Removed {
                    name: name.to_owned(),
                    version: tombstone.deleted_version,
                });
            }
        };
        if sealed.name != name {
            return Err(SecretEntryError::WrongName {
                name: name.to_owned(),
                named: sealed.name,
            });
        }
        Ok(SecretChange::Put(sealed))
    }

    /// The entry at `key` and its revision (0: none yet); an entry that is
    /// not authentic reads as absent, so a write replaces it.
    async fn entry(&self, key: &str) -> Result<(Option<kv::Entry>, u64), SecretStoreError> {
        let entry = self
            .kv
            .entry(key)
            .await
            .map_err(|e| SecretStoreError::Read {
                key: key.to_owned(),
                reason: e.to_string(),
            })?;
        let revision = entry.as_ref().map_or(0, |e| e.revision);
        Ok((entry, revision))
    }

    /// The secret `name` and the revision it was read at, if stored.
    pub async fn get(&self, name: &str) -> Result<Option<(SealedSecret, u64)>, SecretStoreError> {
        check_name(name)?;
        let (entry, revision) = self.entry(&secret_key(name)).await?;
        Ok(match entry.map(|e| self.read_entry(&e)) {
            Some(Ok(SecretChange::Put(sealed))) => Some((sealed, revision)),
            _ => None,
        })
    }

    /// Writes `body` (sealed here) at `key` if its revision is still
    /// `revision` (0: only if absent or deleted); false when someone wrote first.
    async fn write_at(
        &self,
        key: &str,
        body: &[u8],
        revision: u64,
    ) -> Result<bool, SecretStoreError> {
        let sealed = self.auth.seal_value_in(&self.kv.name, key, body);
        let failed = |reason: String| SecretStoreError::Write {
            key: key.to_owned(),
            reason,
        };
        if revision == 0 {
            return match self.kv.create(key, sealed.into()).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(failed(e.to_string())),
            };
        }
        match self.kv.update(key, sealed.into(), revision).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(failed(e.to_string())),
        }
    }

    /// The lattice's secrets-key record and its revision.
    pub async fn key_record(&self) -> Result<Option<(SecretsKeyRecord, u64)>, SecretStoreError> {
        let (entry, revision) = self.entry(KEY_RECORD).await?;
        let Some(entry) = entry.filter(|e| e.operation == Operation::Put) else {
            return Ok(None);
        };
        let opened =
            self.auth
                .open_value_in(&self.kv.name, KEY_RECORD, &entry.value, stored_ms(&entry));
        Ok(opened
            .ok()
            .and_then(|(_, body)| serde_json::from_slice(body).ok())
            .map(|record| (record, revision)))
    }

    /// Writes the key record at `revision` (0: only if absent).
    pub async fn write_key_record(
        &self,
        record: &SecretsKeyRecord,
        revision: u64,
    ) -> Result<bool, SecretStoreError> {
        let body = serde_json::to_vec(record).map_err(|e| SecretStoreError::Write {
            key: KEY_RECORD.to_owned(),
            reason: e.to_string(),
        })?;
        self.write_at(KEY_RECORD, &body, revision).await
    }

    /// The key new values are sealed to: the record's, else `default`
    /// (published as the record on first use).
    pub async fn current_key(&self, default: &SecretsKey) -> Result<SecretsKey, SecretStoreError> {
        for _ in 0..CAS_ATTEMPTS {
            if let Some((record, _)) = self.key_record().await? {
                return Ok(SecretsKey::from_public_key(&record.current)?);
            }
            let record = SecretsKeyRecord {
                current: default.id().to_owned(),
                retiring: Vec::new(),
                since_ms: now_ms(),
            };
            if self.write_key_record(&record, 0).await? {
                return Ok(SecretsKey::from_public_key(default.id())?);
            }
        }
        Err(SecretStoreError::Contended {
            key: KEY_RECORD.to_owned(),
        })
    }

    /// Stores `value` as the next version of `name`, readable by `allow`,
    /// sealed to the lattice's current key (`default` when none is
    /// published yet). Returns what was stored.
    pub async fn put(
        &self,
        name: &str,
        value: &SecretValue,
        allow: &[String],
        default: &SecretsKey,
    ) -> Result<SealedSecret, SecretStoreError> {
        check_name(name)?;
        let allow = check_allow(allow)?;
        let key = secret_key(name);
        for _ in 0..CAS_ATTEMPTS {
            // Read again on each attempt: a rotation may have made another
            // key current meanwhile.
            let to = self.current_key(default).await?;
            let (entry, revision) = self.entry(&key).await?;
            let previous = match entry.map(|e| self.read_entry(&e)) {
                Some(Ok(SecretChange::Put(sealed))) => sealed.version,
                Some(Ok(SecretChange::Removed { version, .. })) => version,
                _ => 0,
            };
            let sealed = seal(name, previous + 1, allow.clone(), value, &to, now_ms())?;
            let body = serde_json::to_vec(&sealed).map_err(|e| SecretStoreError::Write {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            if self.write_at(&key, &body, revision).await? {
                return Ok(sealed);
            }
        }
        Err(SecretStoreError::Contended { key })
    }

    /// Removes `name` (a sealed tombstone); `NotFound` when absent.
    pub async fn delete(&self, name: &str) -> Result<(), SecretStoreError> {
        check_name(name)?;
        let key = secret_key(name);
        for _ in 0..CAS_ATTEMPTS {
            let Some((sealed, revision)) = self.get(name).await? else {
                return Err(SecretStoreError::NotFound(name.to_owned()));
            };
            let tombstone = serde_json::to_vec(&Tombstone {
                deleted_version: sealed.version,
            })
            .map_err(|e| SecretStoreError::Write {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            if self.write_at(&key, &tombstone, revision).await? {
                return Ok(());
            }
        }
        Err(SecretStoreError::Contended { key })
    }

    /// The names of every stored secret (deleted ones included).
    pub async fn names(&self) -> Result<Vec<String>, SecretStoreError> {
        let keys = crate::records::keys(&self.kv, SECRET_KEY_PREFIX)
            .await
            .map_err(|e| SecretStoreError::Read {
                key: format!("{SECRET_KEY_PREFIX}*"),
                reason: e.to_string(),
            })?;
        Ok(keys
            .iter()
            .filter_map(|k| name_of_key(k).map(str::to_owned))
            .collect())
    }

    /// Every authentic secret, by name.
    pub async fn list(&self) -> Result<Vec<SealedSecret>, SecretStoreError> {
        let mut found = Vec::new();
        for name in self.names().await? {
            if let Some((sealed, _)) = self.get(&name).await? {
                found.push(sealed);
            }
        }
        Ok(found)
    }

    /// Seals `name` again to `to` if it is sealed to another key, opening
    /// it with `ring`; true when it was re-sealed. A put in between wins
    /// (its new value is sealed to the current key already).
    pub async fn reseal(
        &self,
        name: &str,
        ring: &SecretsKeyRing,
        to: &SecretsKey,
    ) -> Result<bool, SecretStoreError> {
        let key = secret_key(name);
        for _ in 0..CAS_ATTEMPTS {
            let Some((sealed, revision)) = self.get(name).await? else {
                return Ok(false);
            };
            if sealed.key == to.id() {
                return Ok(false);
            }
            let moved = sealed.reseal(ring, to)?;
            let body = serde_json::to_vec(&moved).map_err(|e| SecretStoreError::Write {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            if self.write_at(&key, &body, revision).await? {
                return Ok(true);
            }
        }
        Err(SecretStoreError::Contended { key })
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
