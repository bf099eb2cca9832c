//! Sealed JSON records in a KV bucket, read and written with their
//! revision so callers decide on compare-and-set (DESIGN.md: never on a
//! plain read). Entries whose seal does not hold read as absent.

use async_nats::jetstream::kv;
use futures::StreamExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::LatticeAuth;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read {key}: {reason}")]
    Read { key: String, reason: String },
    #[error("cannot write {key}: {reason}")]
    Write { key: String, reason: String },
}

/// A record and the revision it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<T> {
    pub value: T,
    pub revision: u64,
}

fn open<T: DeserializeOwned>(auth: &LatticeAuth, entry: &kv::Entry) -> Option<Record<T>> {
    if entry.operation != kv::Operation::Put {
        return None;
    }
    let stored_ms = u64::try_from(entry.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let (_, body) = auth.open_value(&entry.key, &entry.value, stored_ms).ok()?;
    let value = serde_json::from_slice(body).ok()?;
    Some(Record {
        value,
        revision: entry.revision,
    })
}

fn seal<T: Serialize>(auth: &LatticeAuth, key: &str, value: &T) -> Result<Vec<u8>, RecordError> {
    let body = serde_json::to_vec(value).map_err(|e| RecordError::Write {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(auth.seal_value(key, &body))
}

/// The record at `key`, if one whose seal holds is stored.
pub async fn read<T: DeserializeOwned>(
    kv: &kv::Store,
    auth: &LatticeAuth,
    key: &str,
) -> Result<Option<Record<T>>, RecordError> {
    let entry = kv.entry(key).await.map_err(|e| RecordError::Read {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(entry.and_then(|e| open(auth, &e)))
}

/// Writes `value` at `key` whatever is there; returns the new revision.
pub async fn put<T: Serialize>(
    kv: &kv::Store,
    auth: &LatticeAuth,
    key: &str,
    value: &T,
) -> Result<u64, RecordError> {
    let sealed = seal(auth, key, value)?;
    kv.put(key, sealed.into())
        .await
        .map_err(|e| RecordError::Write {
            key: key.to_owned(),
            reason: e.to_string(),
        })
}

/// Writes `value` at `key` only if nothing is there; `None` when something is.
pub async fn create<T: Serialize>(
    kv: &kv::Store,
    auth: &LatticeAuth,
    key: &str,
    value: &T,
) -> Result<Option<u64>, RecordError> {
    let sealed = seal(auth, key, value)?;
    match kv.create(key, sealed.into()).await {
        Ok(revision) => Ok(Some(revision)),
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(RecordError::Write {
            key: key.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Writes `value` at `key` only if its revision is still `revision`;
/// `None` when someone wrote in between.
pub async fn update<T: Serialize>(
    kv: &kv::Store,
    auth: &LatticeAuth,
    key: &str,
    value: &T,
    revision: u64,
) -> Result<Option<u64>, RecordError> {
    let sealed = seal(auth, key, value)?;
    match kv.update(key, sealed.into(), revision).await {
        Ok(revision) => Ok(Some(revision)),
        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
        Err(e) => Err(RecordError::Write {
            key: key.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Every key that starts with `prefix` (which ends with `.`), whatever its
/// value, deleted ones included. Read from the stream's subject counts, so
/// no consumer is created (a leader lists keys every pass).
pub async fn keys(kv: &kv::Store, prefix: &str) -> Result<Vec<String>, RecordError> {
    let failed = |e: &dyn std::fmt::Display| RecordError::Read {
        key: format!("{prefix}*"),
        reason: e.to_string(),
    };
    let filter = format!("{}{prefix}>", kv.prefix);
    let mut subjects = kv
        .stream
        .info_with_subjects(&filter)
        .await
        .map_err(|e| failed(&e))?;
    let mut found = Vec::new();
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(|e| failed(&e))?;
        if let Some(key) = subject.strip_prefix(kv.prefix.as_str()) {
            found.push(key.to_owned());
        }
    }
    found.sort();
    Ok(found)
}

/// Every record whose key starts with `prefix`, by key.
pub async fn list<T: DeserializeOwned>(
    kv: &kv::Store,
    auth: &LatticeAuth,
    prefix: &str,
) -> Result<Vec<(String, Record<T>)>, RecordError> {
    let mut found = Vec::new();
    for key in keys(kv, prefix).await? {
        if let Some(record) = read(kv, auth, &key).await? {
            found.push((key, record));
        }
    }
    Ok(found)
}

/// Removes `key` and its history.
pub async fn purge(kv: &kv::Store, key: &str) -> Result<(), RecordError> {
    kv.purge(key).await.map_err(|e| RecordError::Write {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}
