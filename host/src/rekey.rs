//! Re-sealing the lattice's secrets to a new secrets key
//! (`floe secret rotate-key`, docs/secrets.md): when the key record lists
//! retiring keys, the host holding the reconciler's lease seals every entry
//! again to the current key, each by compare-and-set (a put meanwhile wins:
//! it is sealed to the current key already), then clears `retiring` once
//! no entry names a retiring key. Hosts keep opening both keys meanwhile,
//! so calls never fail. Woken by the key record's change and every
//! interval while a rotation is unfinished (a leader that died mid-way is
//! succeeded by the next).

use std::sync::Arc;
use std::time::Duration;

use floe_lattice::lease::Lease;
use floe_lattice::records::RecordError;
use floe_lattice::secrets::SecretStoreError;
use floe_wire::secrets::SecretError;
use floe_wire::secrets::SecretsKey;
use tokio::sync::Notify;

use crate::secrets::HostSecrets;
use crate::tasks::Tasks;

/// Runs until the host stops.
pub fn spawn(
    secrets: Arc<HostSecrets>,
    lease: Lease,
    changed: Arc<Notify>,
    tasks: &Tasks,
    interval: Duration,
) {
    let stopping = tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                () = stopping.stopping() => return,
                () = changed.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(e) = pass(&secrets, &lease).await {
                tracing::warn!("re-sealing secrets: {e}");
            }
        }
    });
}

/// Why a pass did not finish the rotation (it tries again).
#[derive(Debug, thiserror::Error)]
enum RekeyError {
    #[error(transparent)]
    Store(#[from] SecretStoreError),
    #[error("cannot read the reconciler's lease: {0}")]
    Lease(#[from] RecordError),
    #[error("the current secrets key is not a key: {0}")]
    Current(#[from] SecretError),
    #[error("{0} secrets are still sealed to a retiring key; trying again")]
    Left(usize),
}

/// One pass: nothing unless a rotation is unfinished and this host leads.
async fn pass(secrets: &HostSecrets, lease: &Lease) -> Result<(), RekeyError> {
    let bucket = secrets.bucket();
    let Some((record, revision)) = bucket.key_record().await? else {
        return Ok(());
    };
    if record.retiring.is_empty() {
        return Ok(());
    }
    let holder = lease.holder().await?;
    if holder.is_none_or(|h| h.host_id != lease.host_id()) {
        return Ok(());
    }
    let to = SecretsKey::from_public_key(&record.current)?;
    let (mut moved, mut left) = (0usize, 0usize);
    for name in bucket.names().await? {
        match bucket.reseal(&name, secrets.ring(), &to).await {
            Ok(true) => moved += 1,
            Ok(false) => {}
            Err(e) => {
                left += 1;
                tracing::warn!(secret = %name, "cannot re-seal: {e}");
            }
        }
    }
    // A put that raced the pass may have sealed to a retiring key: look
    // again before declaring the rotation done.
    let stale = bucket
        .list()
        .await?
        .iter()
        .filter(|s| s.key != record.current)
        .count();
    let left = left.max(stale);
    if left > 0 {
        return Err(RekeyError::Left(left));
    }
    let mut done = record.clone();
    done.retiring.clear();
    if bucket.write_key_record(&done, revision).await? {
        tracing::info!(key = %record.current, moved, retired = ?record.retiring, "secrets re-sealed; retiring keys retired");
    }
    Ok(())
}
