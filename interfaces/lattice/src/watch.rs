//! [`KeyWatch`]: the KV entries under one prefix (links, actors' config,
//! secrets) as they change, for as long as the process runs. A JetStream watch can end (the server restarted, the
//! consumer was lost); a task of its own then re-establishes it with
//! backoff from the revision after the last one delivered, so a host or
//! provider never stops following them for good. Entries reach the owner
//! through a bounded channel, so [`KeyWatch::next`] may be raced in a
//! `select!` (dropping it loses nothing); the task ends with the watch.

use std::time::Duration;

use async_nats::jetstream::kv;
use futures::StreamExt as _;
use tokio::sync::mpsc;

/// The first wait before re-establishing an ended watch.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Entries delivered but not yet taken (the task waits beyond it).
const BUFFERED: usize = 256;

/// A watch of every entry under a prefix that re-establishes itself.
#[derive(Debug)]
pub struct KeyWatch {
    entries: mpsc::Receiver<kv::Entry>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KeyWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KeyWatch {
    /// Watches every link entry, the current ones first.
    pub async fn links(store: kv::Store) -> Result<Self, kv::WatchError> {
        Self::start(store, floe_wire::link::LINK_KEY_PREFIX).await
    }

    /// Watches every entry whose key starts with `prefix` (ending in `.`),
    /// the current ones first.
    pub async fn start(store: kv::Store, prefix: &str) -> Result<Self, kv::WatchError> {
        let subject = format!("{prefix}>");
        let watch = store.watch_with_history(subject.clone()).await?;
        let (sender, entries) = mpsc::channel(BUFFERED);
        let task = tokio::spawn(follow(store, subject, watch, sender));
        Ok(KeyWatch { entries, task })
    }

    /// The next entry; waits until there is one. Cancel-safe.
    pub async fn next(&mut self) -> kv::Entry {
        match self.entries.recv().await {
            Some(entry) => entry,
            // The task only ends when this watch is dropped.
            None => std::future::pending().await,
        }
    }
}

async fn follow(
    store: kv::Store,
    subject: String,
    watch: kv::Watch,
    sender: mpsc::Sender<kv::Entry>,
) {
    let mut watch = Some(watch);
    let mut last = 0;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(current) = watch.as_mut() else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            let again = if last == 0 {
                store.watch_with_history(subject.clone()).await
            } else {
                store.watch_from_revision(subject.clone(), last + 1).await
            };
            match again {
                Ok(again) => {
                    tracing::info!(%subject, from_revision = last + 1, "the KV watch is back");
                    watch = Some(again);
                }
                Err(e) => tracing::warn!(%subject, error = %e, "cannot watch again yet"),
            }
            continue;
        };
        match current.next().await {
            Some(Ok(entry)) => {
                last = entry.revision;
                backoff = FIRST_BACKOFF;
                if sender.send(entry).await.is_err() {
                    return;
                }
            }
            Some(Err(e)) => tracing::warn!(%subject, error = %e, "KV watch error"),
            None => {
                tracing::warn!(
                    %subject,
                    after_revision = last,
                    "the KV watch ended; re-establishing it"
                );
                watch = None;
            }
        }
    }
}
