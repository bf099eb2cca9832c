//! Links in the lattice bucket, one entry per (source, package, link name).
//! A value is the link as JSON, sealed with the lattice MAC; deleting a link
//! writes a sealed tombstone (an empty body), so a deletion is as authentic
//! as a put. Entries that do not verify, raw delete markers included, are
//! ignored and logged: someone without the lattice key can neither add nor
//! re-route a link. (Someone who may write to the bucket's stream can still
//! overwrite or purge entries — denial, not deception — which the NATS
//! permissions on `$KV.floe-*` must prevent; see docs/security.md.)

use async_nats::jetstream::kv::{self, Operation};
use floe_wire::Link;
use floe_wire::auth::AuthError;
use floe_wire::link::{LINK_KEY_PREFIX, link_key};

use crate::auth::LatticeAuth;

#[derive(Debug, thiserror::Error)]
pub enum LinkStoreError {
    #[error("cannot write link {key}: {reason}")]
    Write { key: String, reason: String },
    #[error("cannot read links: {0}")]
    Read(String),
}

/// What one entry of the bucket says about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkChange {
    Put(Link),
    Removed,
}

/// One authentic entry: its key, what it says, and when it was sealed (a
/// reader ignores an entry older than one it already applied for the key,
/// so an old authentic value stored again cannot roll a link back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub key: String,
    pub change: LinkChange,
    pub issued_at_ms: u64,
}

/// Why an entry was ignored.
#[derive(Debug, thiserror::Error)]
pub enum LinkEntryError {
    #[error("unauthenticated link entry {key}: {source}")]
    Unauthenticated { key: String, source: AuthError },
    #[error("malformed link entry {key}: {reason}")]
    Malformed { key: String, reason: String },
}

/// Reads one entry (from a watch or a read), if authentic.
pub fn read_entry(auth: &LatticeAuth, entry: &kv::Entry) -> Result<LinkEntry, LinkEntryError> {
    let key = entry.key.as_str();
    if entry.operation != Operation::Put {
        // Delete and purge markers carry no MAC; a real `link del` writes a
        // sealed tombstone instead.
        return Err(LinkEntryError::Unauthenticated {
            key: key.to_owned(),
            source: AuthError::Missing,
        });
    }
    let stored_ms = u64::try_from(entry.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let (issued_at_ms, body) = auth
        .open_value(key, &entry.value, stored_ms)
        .map_err(|source| LinkEntryError::Unauthenticated {
            key: key.to_owned(),
            source,
        })?;
    let entry = |change| LinkEntry {
        key: key.to_owned(),
        change,
        issued_at_ms,
    };
    if body.is_empty() {
        return Ok(entry(LinkChange::Removed));
    }
    let link: Link = serde_json::from_slice(body).map_err(|e| LinkEntryError::Malformed {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    if link.key() != key {
        return Err(LinkEntryError::Malformed {
            key: key.to_owned(),
            reason: format!("it holds the link stored under {}", link.key()),
        });
    }
    Ok(entry(LinkChange::Put(link)))
}

pub async fn put_link(
    store: &kv::Store,
    auth: &LatticeAuth,
    link: &Link,
) -> Result<(), LinkStoreError> {
    let key = link.key();
    let body = serde_json::to_vec(link).map_err(|e| LinkStoreError::Write {
        key: key.clone(),
        reason: e.to_string(),
    })?;
    write(store, &key, auth.seal_value(&key, &body)).await
}

async fn write(store: &kv::Store, key: &str, value: Vec<u8>) -> Result<(), LinkStoreError> {
    store
        .put(key, value.into())
        .await
        .map(|_| ())
        .map_err(|e| LinkStoreError::Write {
            key: key.to_owned(),
            reason: e.to_string(),
        })
}

/// Deletes a link (a sealed tombstone); returns whether it existed.
pub async fn delete_link(
    store: &kv::Store,
    auth: &LatticeAuth,
    source: &str,
    package: &str,
    link_name: &str,
) -> Result<bool, LinkStoreError> {
    let key = link_key(source, package, link_name);
    let current = store
        .entry(&key)
        .await
        .map_err(|e| LinkStoreError::Read(e.to_string()))?;
    let existed = matches!(
        current.as_ref().map(|e| read_entry(auth, e)),
        Some(Ok(LinkEntry {
            change: LinkChange::Put(_),
            ..
        }))
    );
    if existed {
        write(store, &key, auth.seal_value(&key, b"")).await?;
    }
    Ok(existed)
}

/// Every authentic link entry in the bucket, tombstones included; other
/// entries are skipped (and logged by `auth`).
pub async fn read_all(
    store: &kv::Store,
    auth: &LatticeAuth,
) -> Result<Vec<LinkEntry>, LinkStoreError> {
    let keys = crate::records::keys(store, LINK_KEY_PREFIX)
        .await
        .map_err(|e| LinkStoreError::Read(e.to_string()))?;
    let mut entries = Vec::new();
    for key in keys {
        let entry = store
            .entry(&key)
            .await
            .map_err(|e| LinkStoreError::Read(e.to_string()))?;
        if let Some(entry) = entry
            && let Ok(entry) = read_entry(auth, &entry)
        {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Every authentic link in the bucket.
pub async fn list_links(
    store: &kv::Store,
    auth: &LatticeAuth,
) -> Result<Vec<Link>, LinkStoreError> {
    let mut links: Vec<Link> = read_all(store, auth)
        .await?
        .into_iter()
        .filter_map(|e| match e.change {
            LinkChange::Put(link) => Some(link),
            LinkChange::Removed => None,
        })
        .collect();
    links.sort_by_key(Link::key);
    Ok(links)
}
