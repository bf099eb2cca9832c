//! The JetStream side: which bucket an identifier names and who may open
//! it, and the operations on one bucket. Increments are compare-and-set on
//! the key's revision (a replicated read may be stale; a revision never
//! lies), serialised per key inside this process so replicas on one host
//! do not race each other, and retried a bounded number of times with
//! jitter when another host's replica wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use floe_provider::{Context, Invocation};

use crate::{KvError, keys};

/// Compare-and-set attempts before an increment gives up.
const CAS_ATTEMPTS: u32 = 200;

fn other(e: impl std::fmt::Display) -> KvError {
    KvError::Other(e.to_string())
}

/// One lock per (bucket identifier, key) being incremented right now
/// (removed by the last increment holding it).
type CounterLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

/// Buckets opened so far, and per-key increment locks.
#[derive(Default)]
pub struct Stores {
    opened: Mutex<HashMap<String, kv::Store>>,
    counters: Mutex<CounterLocks>,
}

fn valid_identifier(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Stores {
    /// The bucket `identifier` names, if the caller's link allows it.
    pub async fn open(
        &self,
        ctx: &Context,
        call: &Invocation,
        identifier: &str,
    ) -> Result<kv::Store, KvError> {
        if !valid_identifier(identifier) {
            return Err(KvError::Other(format!(
                "`{identifier}` is not a bucket identifier: use 1 to 64 of [a-zA-Z0-9_-]"
            )));
        }
        let link_name = call.origin.link_name.as_deref().unwrap_or("default");
        let link = ctx.links().into_iter().find(|l| {
            l.target == ctx.provider_id()
                && l.source == call.origin.entity
                && l.link_name == link_name
                && l.package == "wasi:keyvalue"
        });
        let Some(link) = link else {
            return Err(KvError::AccessDenied);
        };
        if let Some(allowed) = link.target_config.get("buckets")
            && !allowed.split(',').any(|a| a.trim() == identifier)
        {
            return Err(KvError::AccessDenied);
        }
        if let Some(found) = self
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(identifier)
        {
            return Ok(found.clone());
        }
        let lattice = &ctx.host_data().lattice;
        let bucket = format!("floe-{lattice}-kv-{identifier}");
        let description = format!("Floe lattice {lattice}: wasi:keyvalue bucket {identifier}");
        let store = floe_lattice::open_kv(ctx.nats(), &bucket, &description)
            .await
            .map_err(other)?;
        self.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(identifier.to_owned(), store.clone());
        Ok(store)
    }

    /// Adds `delta` to the decimal number under `key` (0 when missing).
    pub async fn increment(
        &self,
        kv: &kv::Store,
        identifier: &str,
        key: &str,
        delta: u64,
    ) -> Result<u64, KvError> {
        let slot = (identifier.to_owned(), key.to_owned());
        let lock = self.counters().entry(slot.clone()).or_default().clone();
        // Removes the key's lock when this increment ends, however it ends
        // (a caller's deadline drops it mid-way too).
        let _release = Release {
            stores: self,
            slot,
            lock: lock.clone(),
        };
        let _serialised = lock.lock().await;
        increment_once(kv, key, delta).await
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, CounterLocks> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Drops a key's increment lock from the map once no other increment
/// holds or waits for it.
struct Release<'a> {
    stores: &'a Stores,
    slot: (String, String),
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let mut counters = self.stores.counters();
        // The map holds one reference, this guard one and the increment one
        // (clones are made only under the map's mutex, held here): nobody
        // else waits on this key.
        if counters
            .get(&self.slot)
            .is_some_and(|l| Arc::ptr_eq(l, &self.lock) && Arc::strong_count(l) <= 3)
        {
            counters.remove(&self.slot);
        }
    }
}

/// One serialised increment: compare-and-set, retried with jitter.
async fn increment_once(kv: &kv::Store, key: &str, delta: u64) -> Result<u64, KvError> {
    let stored = keys::encode(key);
    for attempt in 0..CAS_ATTEMPTS {
        let current = kv.entry(&stored).await.map_err(other)?;
        let written = match current {
            Some(entry) if entry.operation == Operation::Put => {
                let now: u64 = std::str::from_utf8(&entry.value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        KvError::Other(format!("the value of `{key}` is not a number"))
                    })?;
                let next = now
                    .checked_add(delta)
                    .ok_or_else(|| KvError::Other(format!("incrementing `{key}` overflows u64")))?;
                match kv
                    .update(&stored, next.to_string().into(), entry.revision)
                    .await
                {
                    Ok(_) => Some(next),
                    Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => None,
                    Err(e) => return Err(other(e)),
                }
            }
            _ => match kv.create(&stored, delta.to_string().into()).await {
                Ok(_) => Some(delta),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => None,
                Err(e) => return Err(other(e)),
            },
        };
        if let Some(value) = written {
            return Ok(value);
        }
        // Another replica won: back off a little, more each time.
        let jitter = fastrand::u64(1..=5 + u64::from(attempt.min(20)) * 2);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
    Err(KvError::Other(format!(
        "`{key}` is contended: no increment after {CAS_ATTEMPTS} attempts"
    )))
}

pub async fn get(kv: &kv::Store, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    kv.get(keys::encode(key))
        .await
        .map(|v| v.map(|b| b.to_vec()))
        .map_err(other)
}

pub async fn set(kv: &kv::Store, key: &str, value: Vec<u8>) -> Result<(), KvError> {
    kv.put(keys::encode(key), value.into())
        .await
        .map(|_| ())
        .map_err(other)
}

pub async fn delete(kv: &kv::Store, key: &str) -> Result<(), KvError> {
    kv.delete(keys::encode(key)).await.map_err(other)
}

/// The values of `keys` (absent ones as `None`), in order; the first
/// failure ends it.
pub async fn get_many(
    kv: &kv::Store,
    keys: Vec<String>,
) -> Result<Vec<Option<(String, Vec<u8>)>>, KvError> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let value = get(kv, &key).await?;
        out.push(value.map(|v| (key, v)));
    }
    Ok(out)
}

/// Sets every pair, in order; the first failure ends it.
pub async fn set_many(kv: &kv::Store, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
    for (key, value) in pairs {
        set(kv, &key, value).await?;
    }
    Ok(())
}

/// Deletes every key, in order; the first failure ends it.
pub async fn delete_many(kv: &kv::Store, keys: Vec<String>) -> Result<(), KvError> {
    for key in keys {
        delete(kv, &key).await?;
    }
    Ok(())
}
