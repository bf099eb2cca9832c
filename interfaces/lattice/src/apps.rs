//! Applications in the lattice's KV bucket (records in
//! `floe_wire::app`): applying a manifest as a new version, moving the head
//! (compare-and-set, so two applies never both win), history, rollback,
//! deletion requests, and the status the leader writes.

use async_nats::jetstream::kv;
use floe_wire::app::{
    AppHead, AppManifest, AppStatus, AppVersion, HEAD_PREFIX, ManifestError, STATUS_PREFIX,
    head_key, status_key, version_key, version_prefix,
};

use crate::auth::LatticeAuth;
use crate::records::{self, Record, RecordError};

#[derive(Debug, thiserror::Error)]
pub enum AppStoreError {
    #[error("invalid manifest: {0}")]
    Invalid(#[from] ManifestError),
    #[error("no app named `{0}` (see `floe app list`)")]
    NotFound(String),
    #[error("app `{name}` has no version {seq} (see `floe app history {name}`)")]
    NoVersion { name: String, seq: u64 },
    #[error("app `{0}` is being deleted; apply it again once `floe app list` no longer shows it")]
    Deleting(String),
    #[error("app `{0}` changed while this command ran; run it again")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] RecordError),
}

/// What `apply` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: AppVersion,
    /// False when the manifest equals the current version's (nothing stored).
    pub changed: bool,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Stores `manifest` as the app's next version and makes it current.
pub async fn apply(
    kv: &kv::Store,
    auth: &LatticeAuth,
    manifest: AppManifest,
) -> Result<Applied, AppStoreError> {
    manifest.validate()?;
    store_version(kv, auth, manifest, None).await
}

async fn store_version(
    kv: &kv::Store,
    auth: &LatticeAuth,
    manifest: AppManifest,
    rollback_of: Option<u64>,
) -> Result<Applied, AppStoreError> {
    let name = manifest.name.clone();
    let head = records::read::<AppHead>(kv, auth, &head_key(&name)).await?;
    if let Some(head) = &head {
        if head.value.deleting {
            return Err(AppStoreError::Deleting(name));
        }
        if let Some(current) = read_version(kv, auth, &name, head.value.seq).await?
            && current.manifest == manifest
            && rollback_of.is_none()
        {
            return Ok(Applied {
                version: current,
                changed: false,
            });
        }
    }
    let seq = history(kv, auth, &name)
        .await?
        .last()
        .map_or(1, |v| v.seq + 1);
    let version = AppVersion {
        seq,
        manifest,
        applied_at: now_secs(),
        rollback_of,
    };
    if records::create(kv, auth, &version_key(&name, seq), &version)
        .await?
        .is_none()
    {
        return Err(AppStoreError::Conflict(name));
    }
    let new_head = AppHead {
        name: name.clone(),
        seq,
        deleting: false,
    };
    let moved = match &head {
        Some(head) => records::update(kv, auth, &head_key(&name), &new_head, head.revision).await?,
        None => records::create(kv, auth, &head_key(&name), &new_head).await?,
    };
    if moved.is_none() {
        return Err(AppStoreError::Conflict(name));
    }
    Ok(Applied {
        version,
        changed: true,
    })
}

/// Version `seq` of app `name`, if stored and sealed.
pub async fn read_version(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
    seq: u64,
) -> Result<Option<AppVersion>, AppStoreError> {
    Ok(
        records::read::<AppVersion>(kv, auth, &version_key(name, seq))
            .await?
            .map(|r| r.value)
            .filter(|v| v.seq == seq && v.manifest.name == name),
    )
}

/// Every app's head, by name.
pub async fn heads(
    kv: &kv::Store,
    auth: &LatticeAuth,
) -> Result<Vec<Record<AppHead>>, AppStoreError> {
    Ok(records::list::<AppHead>(kv, auth, HEAD_PREFIX)
        .await?
        .into_iter()
        .filter(|(key, r)| *key == head_key(&r.value.name))
        .map(|(_, r)| r)
        .collect())
}

/// The app's head and current version.
pub async fn current(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
) -> Result<(Record<AppHead>, AppVersion), AppStoreError> {
    let head = records::read::<AppHead>(kv, auth, &head_key(name))
        .await?
        .filter(|h| h.value.name == name)
        .ok_or_else(|| AppStoreError::NotFound(name.to_owned()))?;
    let version = read_version(kv, auth, name, head.value.seq)
        .await?
        .ok_or_else(|| AppStoreError::NoVersion {
            name: name.to_owned(),
            seq: head.value.seq,
        })?;
    Ok((head, version))
}

/// Every version applied, oldest first.
pub async fn history(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
) -> Result<Vec<AppVersion>, AppStoreError> {
    let mut versions: Vec<AppVersion> =
        records::list::<AppVersion>(kv, auth, &version_prefix(name))
            .await?
            .into_iter()
            .filter(|(key, r)| {
                *key == version_key(name, r.value.seq) && r.value.manifest.name == name
            })
            .map(|(_, r)| r.value)
            .collect();
    versions.sort_by_key(|v| v.seq);
    Ok(versions)
}

/// Applies version `seq` again (default: the one before the current) as a
/// new version.
pub async fn rollback(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
    seq: Option<u64>,
) -> Result<Applied, AppStoreError> {
    let (head, _) = current(kv, auth, name).await?;
    let versions = history(kv, auth, name).await?;
    let target = match seq {
        Some(seq) => versions.iter().find(|v| v.seq == seq),
        None => versions.iter().rev().find(|v| v.seq < head.value.seq),
    }
    .ok_or_else(|| AppStoreError::NoVersion {
        name: name.to_owned(),
        seq: seq.unwrap_or(head.value.seq.saturating_sub(1)),
    })?;
    store_version(kv, auth, target.manifest.clone(), Some(target.seq)).await
}

/// Marks the app for deletion; the leader removes what it owns, then its
/// entries ([`forget`]).
pub async fn request_delete(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
) -> Result<AppHead, AppStoreError> {
    // Only the head: an app whose version no longer reads can still go.
    let head = records::read::<AppHead>(kv, auth, &head_key(name))
        .await?
        .filter(|h| h.value.name == name)
        .ok_or_else(|| AppStoreError::NotFound(name.to_owned()))?;
    let deleting = AppHead {
        deleting: true,
        ..head.value
    };
    records::update(kv, auth, &head_key(name), &deleting, head.revision)
        .await?
        .ok_or_else(|| AppStoreError::Conflict(name.to_owned()))?;
    Ok(deleting)
}

/// Removes every entry of a deleted app, if its head is still the deleting
/// one read at `head_revision` (an app applied again meanwhile is kept).
pub async fn forget(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
    head_revision: u64,
) -> Result<(), AppStoreError> {
    let still = records::read::<AppHead>(kv, auth, &head_key(name))
        .await?
        .is_some_and(|h| h.revision == head_revision && h.value.deleting);
    if !still {
        return Err(AppStoreError::Conflict(name.to_owned()));
    }
    for key in records::keys(kv, &version_prefix(name)).await? {
        records::purge(kv, &key).await?;
    }
    records::purge(kv, &status_key(name)).await?;
    records::purge(kv, &head_key(name)).await?;
    Ok(())
}

/// Removes every entry of app `name` without reading any (`floe app
/// delete --force`): for an app whose records do not open (sealed under
/// another cluster key, say). The leader's orphan sweep then removes what
/// the app started. Returns whether there was anything to remove.
pub async fn purge(kv: &kv::Store, name: &str) -> Result<bool, AppStoreError> {
    let mut keys = records::keys(kv, &version_prefix(name)).await?;
    for key in [status_key(name), head_key(name)] {
        let present = kv
            .entry(&key)
            .await
            .map_err(|e| records::RecordError::Read {
                key: key.clone(),
                reason: e.to_string(),
            })?;
        if present.is_some_and(|e| e.operation == kv::Operation::Put) {
            keys.push(key);
        }
    }
    for key in &keys {
        records::purge(kv, key).await?;
    }
    Ok(!keys.is_empty())
}

/// What the leader last wrote about the app.
pub async fn status(
    kv: &kv::Store,
    auth: &LatticeAuth,
    name: &str,
) -> Result<Option<AppStatus>, AppStoreError> {
    Ok(records::read::<AppStatus>(kv, auth, &status_key(name))
        .await?
        .map(|r| r.value)
        .filter(|s| s.name == name))
}

/// Every status, by app name.
pub async fn statuses(kv: &kv::Store, auth: &LatticeAuth) -> Result<Vec<AppStatus>, AppStoreError> {
    Ok(records::list::<AppStatus>(kv, auth, STATUS_PREFIX)
        .await?
        .into_iter()
        .map(|(_, r)| r.value)
        .collect())
}

pub async fn write_status(
    kv: &kv::Store,
    auth: &LatticeAuth,
    status: &AppStatus,
) -> Result<(), AppStoreError> {
    records::put(kv, auth, &status_key(&status.name), status).await?;
    Ok(())
}
