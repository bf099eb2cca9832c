//! Artifacts in the lattice: bytes in the JetStream object store
//! `floe-{lattice}-artifacts` (one object per sha256 digest), tags as sealed
//! entries of the lattice's KV bucket. Whoever reads an artifact checks its
//! digest, so a corrupted or replaced object is never used, and only tags
//! whose seal holds are followed.

use std::time::Duration;

use async_nats::jetstream::{kv, object_store};
use floe_wire::LatticeId;
use floe_wire::artifact::{self, ArtifactTag};
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use crate::LatticeAuth;

/// How long to keep trying while JetStream is still forming.
const FORMING_TIMEOUT: Duration = Duration::from_secs(20);

/// Why an artifact could not be stored, found or trusted.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error(
        "cannot open the artifact store {bucket}: {reason} (is JetStream enabled on the NATS server?)"
    )]
    Store { bucket: String, reason: String },
    #[error("no artifact {0} in this lattice (push it first: `floe push FILE`)")]
    NotFound(String),
    #[error(
        "the stored artifact sha256:{expected} is corrupt: its bytes hash to sha256:{actual}; push it again"
    )]
    Corrupt { expected: String, actual: String },
    #[error("artifact {reference} is larger than the {limit} bytes accepted")]
    TooLarge { reference: String, limit: u64 },
    #[error("cannot read artifact {reference}: {reason}")]
    Read { reference: String, reason: String },
    #[error("cannot write artifact {reference}: {reason}")]
    Write { reference: String, reason: String },
}

/// sha256 hex of `bytes`.
pub fn digest_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Opens the artifact store of `lattice`, creating it when missing (as
/// many replicas as the cluster allows, up to 3).
pub async fn open_store(
    client: &async_nats::Client,
    lattice: &LatticeId,
) -> Result<object_store::ObjectStore, ArtifactError> {
    let bucket = artifact::bucket_name(lattice);
    let config = object_store::Config {
        bucket: bucket.clone(),
        description: Some(format!("Floe lattice {lattice}: artifacts by digest")),
        ..Default::default()
    };
    crate::bucket::open_object_store(client, config, FORMING_TIMEOUT)
        .await
        .map_err(|e| ArtifactError::Store {
            bucket,
            reason: e.reason,
        })
}

/// Stores `bytes` under their digest (once: an object already there is
/// kept) and returns the digest.
pub async fn put(store: &object_store::ObjectStore, bytes: &[u8]) -> Result<String, ArtifactError> {
    let hex = digest_hex(bytes);
    let name = artifact::object_name(&hex);
    // Kept only when the stored bytes are these (NATS records their
    // SHA-256): a corrupted object is replaced by pushing again.
    let nats_digest = {
        use base64::Engine as _;
        format!(
            "SHA-256={}",
            base64::engine::general_purpose::URL_SAFE.encode(Sha256::digest(bytes))
        )
    };
    if let Ok(info) = store.info(&name).await
        && !info.deleted
        && info.digest.as_deref() == Some(nats_digest.as_str())
    {
        return Ok(hex);
    }
    let mut reader = bytes;
    store
        .put(name.as_str(), &mut reader)
        .await
        .map_err(|e| ArtifactError::Write {
            reference: format!("sha256:{hex}"),
            reason: e.to_string(),
        })?;
    Ok(hex)
}

/// The bytes of the artifact with digest `hex`, checked against it; at
/// most `limit` bytes.
pub async fn fetch(
    store: &object_store::ObjectStore,
    hex: &str,
    limit: u64,
) -> Result<Vec<u8>, ArtifactError> {
    let reference = format!("sha256:{hex}");
    let name = artifact::object_name(hex);
    let mut object = store.get(&name).await.map_err(|e| {
        if matches!(e.kind(), object_store::GetErrorKind::NotFound) {
            ArtifactError::NotFound(format!("floe://{reference}"))
        } else {
            ArtifactError::Read {
                reference: reference.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    let mut bytes = Vec::new();
    (&mut object)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ArtifactError::Read {
            reference: reference.clone(),
            reason: e.to_string(),
        })?;
    if bytes.len() as u64 > limit {
        return Err(ArtifactError::TooLarge { reference, limit });
    }
    let actual = digest_hex(&bytes);
    if actual != hex {
        return Err(ArtifactError::Corrupt {
            expected: hex.to_owned(),
            actual,
        });
    }
    Ok(bytes)
}

/// Removes the artifact with digest `hex`; false when there was none.
pub async fn delete(store: &object_store::ObjectStore, hex: &str) -> Result<bool, ArtifactError> {
    let name = artifact::object_name(hex);
    match store.info(&name).await {
        Ok(info) if !info.deleted => {}
        Ok(_) => return Ok(false),
        Err(e) if matches!(e.kind(), object_store::InfoErrorKind::NotFound) => return Ok(false),
        Err(e) => {
            return Err(ArtifactError::Read {
                reference: format!("sha256:{hex}"),
                reason: e.to_string(),
            });
        }
    }
    store
        .delete(&name)
        .await
        .map_err(|e| ArtifactError::Write {
            reference: format!("sha256:{hex}"),
            reason: format!("cannot delete: {e}"),
        })?;
    Ok(true)
}

/// One artifact in the store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stored {
    pub digest: String,
    pub size: u64,
    /// When it was stored (Unix seconds), as the object store says.
    pub stored_unix: Option<i64>,
}

/// Every object in the store, by digest.
pub async fn list(store: &object_store::ObjectStore) -> Result<Vec<Stored>, ArtifactError> {
    let failed = |e: &dyn std::fmt::Display| ArtifactError::Read {
        reference: "the artifact list".into(),
        reason: e.to_string(),
    };
    let mut objects = store.list().await.map_err(|e| failed(&e))?;
    let mut all = Vec::new();
    while let Some(info) = objects.next().await {
        let info = info.map_err(|e| failed(&e))?;
        if info.deleted {
            continue;
        }
        // Object names are not sealed: keep only well-formed digests.
        if let Some(hex) = info
            .name
            .strip_prefix("sha256-")
            .filter(|h| artifact::is_sha256_hex(h))
        {
            all.push(Stored {
                digest: hex.to_owned(),
                size: info.size as u64,
                stored_unix: info.modified.map(|m| m.unix_timestamp()),
            });
        }
    }
    all.sort();
    Ok(all)
}

/// Points `tag.name:tag.tag` at `tag.digest` (sealed).
pub async fn put_tag(
    kv: &kv::Store,
    auth: &LatticeAuth,
    tag: &ArtifactTag,
) -> Result<(), ArtifactError> {
    let key = artifact::tag_key(&tag.name, &tag.tag);
    let failed = |e: &dyn std::fmt::Display| ArtifactError::Write {
        reference: format!("{}:{}", tag.name, tag.tag),
        reason: e.to_string(),
    };
    let body = serde_json::to_vec(tag).map_err(|e| failed(&e))?;
    kv.put(&key, auth.seal_value(&key, &body).into())
        .await
        .map_err(|e| failed(&e))?;
    Ok(())
}

/// Removes the tag `name:tag` (the artifact stays).
pub async fn delete_tag(kv: &kv::Store, name: &str, tag: &str) -> Result<(), ArtifactError> {
    kv.delete(artifact::tag_key(name, tag))
        .await
        .map_err(|e| ArtifactError::Write {
            reference: format!("{name}:{tag}"),
            reason: format!("cannot delete the tag: {e}"),
        })
}

/// The tag `name:tag`, if one whose seal holds is stored.
pub async fn read_tag(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
    tag: &str,
) -> Result<Option<ArtifactTag>, ArtifactError> {
    let key = artifact::tag_key(name, tag);
    let entry = kv.entry(&key).await.map_err(|e| ArtifactError::Read {
        reference: format!("{name}:{tag}"),
        reason: e.to_string(),
    })?;
    Ok(entry.and_then(|e| open_tag(auth, &e)))
}

/// Every tag whose seal holds.
pub async fn list_tags(
    kv: &kv::Store,
    auth: &LatticeAuth,
) -> Result<Vec<ArtifactTag>, ArtifactError> {
    let failed = |e: &dyn std::fmt::Display| ArtifactError::Read {
        reference: "the artifact tags".into(),
        reason: e.to_string(),
    };
    let mut keys = kv.keys().await.map_err(|e| failed(&e))?;
    let mut tags = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| failed(&e))?;
        if !key.starts_with(artifact::TAG_KEY_PREFIX) {
            continue;
        }
        if let Some(tag) = kv
            .entry(&key)
            .await
            .map_err(|e| failed(&e))?
            .and_then(|e| open_tag(auth, &e))
        {
            tags.push(tag);
        }
    }
    tags.sort_by(|a, b| (&a.name, &a.tag).cmp(&(&b.name, &b.tag)));
    Ok(tags)
}

fn open_tag(auth: &LatticeAuth, entry: &kv::Entry) -> Option<ArtifactTag> {
    if entry.operation != kv::Operation::Put {
        return None;
    }
    let stored_ms = u64::try_from(entry.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let (_, body) = auth.open_value(&entry.key, &entry.value, stored_ms).ok()?;
    let tag: ArtifactTag = serde_json::from_slice(body).ok()?;
    // The record must be the one its key names.
    (artifact::tag_key(&tag.name, &tag.tag) == entry.key
        && floe_wire::artifact::is_sha256_hex(&tag.digest))
    .then_some(tag)
}
