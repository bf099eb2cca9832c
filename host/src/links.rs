//! The links this host knows, kept current from the lattice's KV bucket:
//! read whole at start (so links put before the host started apply at once),
//! then watched, so a `link put` or `link del` applies to running actors
//! without restarting anything.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use floe_lattice::{LinkChange, LinkEntry};
use floe_wire::Link;
use floe_wire::link::link_key;

use crate::tasks::Tasks;

/// Why the links could not be followed.
#[derive(Debug, thiserror::Error)]
pub enum LinksError {
    #[error("cannot watch the lattice's links: {0}")]
    Watch(String),
    #[error("cannot read the lattice's links: {0}")]
    Read(String),
}

/// Links by KV key, and when the entry in force for each key was sealed.
#[derive(Debug, Default)]
pub struct LinkTable {
    links: RwLock<HashMap<String, Link>>,
    sealed_at: RwLock<HashMap<String, u64>>,
}

impl LinkTable {
    /// The link for (source, package, link name), if any.
    pub fn find(&self, source: &str, package: &str, link_name: &str) -> Option<Link> {
        self.read()
            .get(&link_key(source, package, link_name))
            .cloned()
    }

    /// Applies an authentic entry unless an entry sealed later was already
    /// applied for its key (an old value stored again: a rollback).
    fn apply(&self, entry: LinkEntry) {
        {
            let mut sealed_at = self
                .sealed_at
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let latest = sealed_at.entry(entry.key.clone()).or_default();
            if entry.issued_at_ms < *latest {
                tracing::warn!(key = %entry.key, "ignoring a link entry older than the one in force (a replayed value)");
                return;
            }
            *latest = entry.issued_at_ms;
        }
        let mut links = self
            .links
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match entry.change {
            LinkChange::Put(link) => {
                tracing::info!(source = %link.source, target = %link.target, package = %link.package, name = %link.link_name, "link applied");
                links.insert(entry.key, link);
            }
            LinkChange::Removed => {
                if links.remove(&entry.key).is_some() {
                    tracing::info!(key = %entry.key, "link removed");
                }
            }
        }
    }

    /// Applies one entry of the bucket; one that is not authentic is ignored.
    fn apply_entry(&self, auth: &floe_lattice::LatticeAuth, entry: &kv::Entry) {
        match floe_lattice::read_entry(auth, entry) {
            Ok(entry) => self.apply(entry),
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
pub async fn follow(
    table: Arc<LinkTable>,
    auth: Arc<floe_lattice::LatticeAuth>,
    tasks: &Tasks,
    store: kv::Store,
) -> Result<(), LinksError> {
    let mut watch = floe_lattice::KeyWatch::links(store.clone())
        .await
        .map_err(|e| LinksError::Watch(e.to_string()))?;
    let entries = floe_lattice::read_all(&store, &auth)
        .await
        .map_err(|e| LinksError::Read(e.to_string()))?;
    for entry in entries {
        table.apply(entry);
    }
    let stopping = tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                () = stopping.stopping() => return,
                entry = watch.next() => table.apply_entry(&auth, &entry),
            }
        }
    });
    Ok(())
}
