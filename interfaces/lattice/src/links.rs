//! Links in the lattice bucket, one entry per (source, package, link name),
//! the value the link as JSON.

use async_nats::jetstream::kv;
use floe_wire::Link;
use floe_wire::link::{LINK_KEY_PREFIX, link_key};
use futures::StreamExt as _;

#[derive(Debug, thiserror::Error)]
pub enum LinkStoreError {
    #[error("cannot write link {key}: {reason}")]
    Write { key: String, reason: String },
    #[error("cannot read links: {0}")]
    Read(String),
}

pub async fn put_link(store: &kv::Store, link: &Link) -> Result<(), LinkStoreError> {
    let key = link.key();
    let body = serde_json::to_vec(link).map_err(|e| LinkStoreError::Write {
        key: key.clone(),
        reason: e.to_string(),
    })?;
    store
        .put(&key, body.into())
        .await
        .map(|_| ())
        .map_err(|e| LinkStoreError::Write {
            key,
            reason: e.to_string(),
        })
}

/// Deletes a link; returns whether it existed.
pub async fn delete_link(
    store: &kv::Store,
    source: &str,
    package: &str,
    link_name: &str,
) -> Result<bool, LinkStoreError> {
    let key = link_key(source, package, link_name);
    let existed = store
        .get(&key)
        .await
        .map_err(|e| LinkStoreError::Read(e.to_string()))?
        .is_some();
    if existed {
        store
            .delete(&key)
            .await
            .map_err(|e| LinkStoreError::Write {
                key,
                reason: e.to_string(),
            })?;
    }
    Ok(existed)
}

/// Every link in the bucket; entries that do not parse are skipped.
pub async fn list_links(store: &kv::Store) -> Result<Vec<Link>, LinkStoreError> {
    let mut keys = store
        .keys()
        .await
        .map_err(|e| LinkStoreError::Read(e.to_string()))?;
    let mut links = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| LinkStoreError::Read(e.to_string()))?;
        if !key.starts_with(LINK_KEY_PREFIX) {
            continue;
        }
        if let Some(value) = store
            .get(&key)
            .await
            .map_err(|e| LinkStoreError::Read(e.to_string()))?
            && let Ok(link) = serde_json::from_slice::<Link>(&value)
        {
            links.push(link);
        }
    }
    links.sort_by_key(Link::key);
    Ok(links)
}
