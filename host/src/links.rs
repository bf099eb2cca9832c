//! The links this host knows, kept current from the lattice's KV bucket:
//! read whole at start (so links put before the host started apply at once),
//! then watched, so a `link put` or `link del` applies to running actors
//! without restarting anything.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use floe_lattice::LinkChange;
use floe_wire::Link;
use floe_wire::link::{LINK_KEY_PREFIX, link_key};
use futures::StreamExt as _;

use crate::host::HostCore;

/// Links by KV key.
#[derive(Debug, Default)]
pub struct LinkTable {
    links: RwLock<HashMap<String, Link>>,
}

impl LinkTable {
    /// The link for (source, package, link name), if any.
    pub fn find(&self, source: &str, package: &str, link_name: &str) -> Option<Link> {
        self.read()
            .get(&link_key(source, package, link_name))
            .cloned()
    }

    fn apply(&self, key: &str, change: LinkChange) {
        let mut links = self
            .links
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match change {
            LinkChange::Put(link) => {
                tracing::info!(source = %link.source, target = %link.target, package = %link.package, name = %link.link_name, "link applied");
                links.insert(key.to_owned(), link);
            }
            LinkChange::Removed => {
                if links.remove(key).is_some() {
                    tracing::info!(key, "link removed");
                }
            }
        }
    }

    /// Applies one entry of the bucket; one that is not authentic is ignored.
    fn apply_entry(&self, auth: &floe_lattice::LatticeAuth, entry: &kv::Entry) {
        match floe_lattice::read_entry(auth, entry) {
            Ok(change) => self.apply(&entry.key, change),
            Err(e) => tracing::warn!("ignoring a link entry: {e}"),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Link>> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.links
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Loads every link, then follows changes until the host stops. The watch
/// starts first (replaying each key's latest value, then every change), so
/// no change between the snapshot and the watch is lost; applying both is
/// idempotent.
pub async fn follow(core: &Arc<HostCore>, store: kv::Store) -> Result<(), String> {
    let mut watch = store
        .watch_with_history(format!("{LINK_KEY_PREFIX}>"))
        .await
        .map_err(|e| format!("cannot watch links: {e}"))?;
    let links = floe_lattice::list_links(&store, &core.auth)
        .await
        .map_err(|e| e.to_string())?;
    for link in links {
        core.links.apply(&link.key(), LinkChange::Put(link));
    }
    let core = core.clone();
    let tracker = core.tracker.clone();
    tracker.spawn(async move {
        loop {
            tokio::select! {
                _ = core.shutdown.cancelled() => return,
                entry = watch.next() => match entry {
                    Some(Ok(entry)) => core.links.apply_entry(&core.auth, &entry),
                    Some(Err(e)) => tracing::warn!(error = %e, "link watch error"),
                    None => {
                        tracing::warn!("the link watch ended; links will not update until the host restarts");
                        return;
                    }
                },
            }
        }
    });
    Ok(())
}
