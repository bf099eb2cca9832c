//! Secrets and stored config through the client: the lattice's secrets
//! bucket (`floe_lattice::secrets`) and actors' config records
//! (`floe_lattice::actor_config`). Values are sealed here, on the client;
//! nothing here ever prints or returns a value.

use floe_lattice::secrets::{SecretStoreError, Secrets};
use floe_wire::actor_config::{ActorConfigRecord, check_config_key};
use floe_wire::auth::ClusterSeed;
use floe_wire::control::{ControlCode, Refusal, StringMap};
use floe_wire::secrets::{SealedSecret, SecretValue, SecretsKey, SecretsKeyRecord};

use super::{CtlClient, CtlError};

/// The public half of the secrets key derived from the cluster seed this
/// client uses (found as `find_auth` finds it): what hosts hold by default.
pub fn derived_secrets_key(
    lattice: &floe_wire::LatticeId,
    seed: Option<&str>,
) -> Result<SecretsKey, CtlError> {
    let home = floe_wire::FloeHome::from_env().map_err(|e| CtlError::Seed(e.to_string()))?;
    let seed = ClusterSeed::find(seed, &home)
        .map_err(|e| CtlError::Seed(e.to_string()))?
        .ok_or_else(|| CtlError::NoSeed {
            lattice: lattice.clone(),
        })?;
    let derived = SecretsKey::derive(seed.expose(), lattice);
    SecretsKey::from_public_key(derived.id()).map_err(|e| CtlError::Seed(e.to_string()))
}

fn store_error(e: SecretStoreError) -> CtlError {
    match e {
        SecretStoreError::NotFound(name) => CtlError::NotFound(format!(
            "secret {name} does not exist (see `floe secret list`)"
        )),
        SecretStoreError::Secret(e) => bad_request(e.to_string()),
        other => CtlError::Store(other.to_string()),
    }
}

fn bad_request(message: String) -> CtlError {
    CtlError::Refused(Refusal::new(ControlCode::BadRequest, message))
}

impl CtlClient {
    /// The lattice's secrets bucket.
    pub async fn secrets(&self) -> Result<Secrets, CtlError> {
        Secrets::open(&self.nats, self.auth.clone())
            .await
            .map_err(|e| CtlError::Store(e.to_string()))
    }

    /// Seals `value` on this client and stores it as the next version of
    /// `name`; `default` is the key to publish when the lattice has none yet.
    pub async fn put_secret(
        &self,
        name: &str,
        value: &SecretValue,
        allow: &[String],
        default: &SecretsKey,
    ) -> Result<SealedSecret, CtlError> {
        self.secrets()
            .await?
            .put(name, value, allow, default)
            .await
            .map_err(store_error)
    }

    /// Every secret (names, versions, keys, allow-lists; no values).
    pub async fn list_secrets(&self) -> Result<Vec<SealedSecret>, CtlError> {
        self.secrets().await?.list().await.map_err(store_error)
    }

    pub async fn delete_secret(&self, name: &str) -> Result<(), CtlError> {
        self.secrets()
            .await?
            .delete(name)
            .await
            .map_err(store_error)
    }

    /// The lattice's secrets-key record, if published.
    pub async fn secrets_key_record(&self) -> Result<Option<SecretsKeyRecord>, CtlError> {
        Ok(self
            .secrets()
            .await?
            .key_record()
            .await
            .map_err(store_error)?
            .map(|(record, _)| record))
    }

    /// Makes `to` the key new values are sealed to, the current one
    /// retiring (hosts' leader then re-seals every entry). Returns the
    /// record written; unchanged when `to` is current already.
    pub async fn rotate_secrets_key(&self, to: &SecretsKey) -> Result<SecretsKeyRecord, CtlError> {
        let secrets = self.secrets().await?;
        for _ in 0..16 {
            let read = secrets.key_record().await.map_err(store_error)?;
            let (record, revision) = match read {
                Some((record, _)) if record.current == to.id() => return Ok(record),
                Some((record, revision)) => {
                    let mut retiring = record.retiring.clone();
                    retiring.push(record.current.clone());
                    retiring.retain(|k| k != to.id());
                    retiring.dedup();
                    (
                        SecretsKeyRecord {
                            current: to.id().to_owned(),
                            retiring,
                            since_ms: now_ms(),
                        },
                        revision,
                    )
                }
                None => (
                    SecretsKeyRecord {
                        current: to.id().to_owned(),
                        retiring: Vec::new(),
                        since_ms: now_ms(),
                    },
                    0,
                ),
            };
            if secrets
                .write_key_record(&record, revision)
                .await
                .map_err(store_error)?
            {
                return Ok(record);
            }
        }
        Err(CtlError::Store(
            "the secrets-key record kept changing; try again".into(),
        ))
    }

    /// Sets and removes values of `actor`'s stored config; returns it.
    pub async fn change_config(
        &self,
        actor: &str,
        set: &StringMap,
        unset: &[String],
    ) -> Result<ActorConfigRecord, CtlError> {
        for key in set.keys().chain(unset) {
            check_config_key(key).map_err(|e| bad_request(e.to_string()))?;
        }
        let store = self.bucket().await?;
        floe_lattice::actor_config::change(&store, &self.auth, actor, set, unset)
            .await
            .map_err(|e| CtlError::Store(e.to_string()))
    }

    /// `actor`'s stored config (empty when none).
    pub async fn stored_config(&self, actor: &str) -> Result<ActorConfigRecord, CtlError> {
        let store = self.bucket().await?;
        floe_lattice::actor_config::read(&store, &self.auth, actor)
            .await
            .map_err(|e| CtlError::Store(e.to_string()))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
