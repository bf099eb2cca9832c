//! [`LinkWatch`]: the links' KV entries as they change, for as long as the
//! process runs. A JetStream watch can end (the server restarted, the
//! consumer was lost); this one is then re-established with backoff from
//! the revision after the last one delivered, so a host or provider never
//! stops following links for good.

use std::time::Duration;

use async_nats::jetstream::kv;
use floe_wire::link::LINK_KEY_PREFIX;
use futures::StreamExt as _;

/// The first wait before re-establishing an ended watch.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A watch of every link entry that re-establishes itself.
pub struct LinkWatch {
    store: kv::Store,
    watch: Option<kv::Watch>,
    /// The revision of the last entry delivered (0: none yet).
    last: u64,
    backoff: Duration,
}

impl std::fmt::Debug for LinkWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkWatch")
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl LinkWatch {
    /// Watches every link entry, the current ones first.
    pub async fn start(store: kv::Store) -> Result<Self, kv::WatchError> {
        let watch = store
            .watch_with_history(format!("{LINK_KEY_PREFIX}>"))
            .await?;
        Ok(LinkWatch {
            store,
            watch: Some(watch),
            last: 0,
            backoff: FIRST_BACKOFF,
        })
    }

    /// The next entry; waits (re-establishing the watch as needed) until
    /// there is one. Never ends.
    pub async fn next(&mut self) -> kv::Entry {
        loop {
            let Some(watch) = self.watch.as_mut() else {
                tokio::time::sleep(self.backoff).await;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                let subject = format!("{LINK_KEY_PREFIX}>");
                let from = self.last + 1;
                let watch = if self.last == 0 {
                    self.store.watch_with_history(subject).await
                } else {
                    self.store.watch_from_revision(subject, from).await
                };
                match watch {
                    Ok(watch) => {
                        tracing::info!(from_revision = from, "the link watch is back");
                        self.watch = Some(watch);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot watch links again yet"),
                }
                continue;
            };
            match watch.next().await {
                Some(Ok(entry)) => {
                    self.last = entry.revision;
                    self.backoff = FIRST_BACKOFF;
                    return entry;
                }
                Some(Err(e)) => tracing::warn!(error = %e, "link watch error"),
                None => {
                    tracing::warn!(
                        after_revision = self.last,
                        "the link watch ended; re-establishing it"
                    );
                    self.watch = None;
                }
            }
        }
    }
}
