//! Actors' config records in the lattice's KV bucket (`config.{actor}`),
//! sealed JSON read and written by compare-and-set through `records`:
//! `floe config put` merges values in, `floe config unset` takes them out,
//! hosts follow the prefix and apply changes to running replicas.

use async_nats::jetstream::kv;
use floe_wire::actor_config::{ActorConfigRecord, actor_of_key, config_key};
use floe_wire::control::StringMap;

use crate::LatticeAuth;
use crate::records::{self, RecordError};

/// How many times a change retries after losing a compare-and-set.
const CAS_ATTEMPTS: u32 = 16;

#[derive(Debug, thiserror::Error)]
pub enum ConfigStoreError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(
        "the config of {0} changed {CAS_ATTEMPTS} times while this write tried to store it; try again"
    )]
    Contended(String),
}

/// The stored config of `actor` (empty when none).
pub async fn read(
    kv: &kv::Store,
    auth: &LatticeAuth,
    actor: &str,
) -> Result<ActorConfigRecord, ConfigStoreError> {
    Ok(records::read(kv, auth, &config_key(actor))
        .await?
        .map(|r| r.value)
        .unwrap_or_default())
}

/// Sets `set` and removes `unset` in `actor`'s stored config; returns the
/// config now stored.
pub async fn change(
    kv: &kv::Store,
    auth: &LatticeAuth,
    actor: &str,
    set: &StringMap,
    unset: &[String],
) -> Result<ActorConfigRecord, ConfigStoreError> {
    let key = config_key(actor);
    for _ in 0..CAS_ATTEMPTS {
        let current = records::read::<ActorConfigRecord>(kv, auth, &key).await?;
        let mut record = current
            .as_ref()
            .map(|r| r.value.clone())
            .unwrap_or_default();
        record
            .values
            .extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        for k in unset {
            record.values.remove(k);
        }
        let written = match &current {
            Some(current) => records::update(kv, auth, &key, &record, current.revision).await?,
            None => records::create(kv, auth, &key, &record).await?,
        };
        if written.is_some() {
            return Ok(record);
        }
    }
    Err(ConfigStoreError::Contended(actor.to_owned()))
}

/// One authentic entry of the `config.` prefix: the actor it is for, its
/// record (`None`: removed), and when it was sealed (a reader ignores one
/// sealed before the entry it applied last, a rolled-back value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub actor: String,
    pub record: Option<ActorConfigRecord>,
    pub issued_at_ms: u64,
}

/// Reads one entry of a watch, if authentic; `None` for anything else
/// (logged by the caller by key).
pub fn read_entry(auth: &LatticeAuth, entry: &kv::Entry) -> Option<ConfigEntry> {
    let actor = actor_of_key(&entry.key)?.to_owned();
    if entry.operation != kv::Operation::Put {
        return None;
    }
    let stored_ms = u64::try_from(entry.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let (issued_at_ms, body) = auth.open_value(&entry.key, &entry.value, stored_ms).ok()?;
    let record = serde_json::from_slice(body).ok()?;
    Some(ConfigEntry {
        actor,
        record: Some(record),
        issued_at_ms,
    })
}
