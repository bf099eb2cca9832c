//! Which hosts are alive, from their heartbeats: a host that has not beaten
//! for `missed_beats × heartbeat` is lost (announced once by the leader),
//! one that stopped cleanly is forgotten at once. Heartbeats are read by a
//! task of their own and stamped when they arrive, so a long pass of the
//! leader never delays them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use floe_lattice::LatticeAuth;
use floe_wire::events::HeartbeatData;
use floe_wire::{CloudEvent, EventType, Subject};
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
pub struct HostTracker {
    /// Silence after which a host is lost.
    grace: Duration,
    last_seen: BTreeMap<String, Instant>,
}

impl HostTracker {
    pub fn new(grace: Duration) -> Self {
        HostTracker {
            grace,
            last_seen: BTreeMap::new(),
        }
    }

    /// A (verified) `host_heartbeat` event.
    pub fn heartbeat(&mut self, payload: &[u8]) {
        let Ok(event) = serde_json::from_slice::<CloudEvent>(payload) else {
            return;
        };
        if let Ok(beat) = serde_json::from_value::<HeartbeatData>(event.data) {
            self.seen(&beat.host.host_id);
        }
    }

    /// A (verified) `host_stopped` event: gone, and not lost.
    pub fn stopped(&mut self, payload: &[u8]) {
        let Ok(event) = serde_json::from_slice::<CloudEvent>(payload) else {
            return;
        };
        self.last_seen.remove(&event.source);
    }

    /// A host that answered the leader.
    pub fn seen(&mut self, host_id: &str) {
        self.last_seen.insert(host_id.to_owned(), Instant::now());
    }

    /// Hosts heard from within the grace.
    pub fn alive(&self) -> Vec<String> {
        let now = Instant::now();
        self.last_seen
            .iter()
            .filter(|(_, at)| now.duration_since(**at) <= self.grace)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Removes and returns the hosts silent for longer than the grace, with
    /// how long they have been silent.
    pub fn take_lost(&mut self) -> Vec<(String, Duration)> {
        let now = Instant::now();
        let lost: Vec<(String, Duration)> = self
            .last_seen
            .iter()
            .map(|(id, at)| (id.clone(), now.duration_since(*at)))
            .filter(|(_, silent)| *silent > self.grace)
            .collect();
        for (id, _) in &lost {
            self.last_seen.remove(id);
        }
        lost
    }
}

pub fn lock(tracker: &Mutex<HostTracker>) -> MutexGuard<'_, HostTracker> {
    tracker
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Subscribes to heartbeats and clean stops, and feeds `tracker` from a
/// task until `shutdown`.
pub async fn follow(
    nats: &async_nats::Client,
    auth: &Arc<LatticeAuth>,
    tracker: Arc<Mutex<HostTracker>>,
    shutdown: &CancellationToken,
) -> Result<(), async_nats::SubscribeError> {
    let lattice = auth.lattice().clone();
    let mut heartbeats = nats
        .subscribe(Subject::Event(EventType::HostHeartbeat).render(&lattice))
        .await?;
    let mut stopped = nats
        .subscribe(Subject::Event(EventType::HostStopped).render(&lattice))
        .await?;
    let (auth, shutdown) = (auth.clone(), shutdown.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                Some(msg) = heartbeats.next() => {
                    if auth.verify(&msg).is_ok() {
                        lock(&tracker).heartbeat(&msg.payload);
                    }
                }
                Some(msg) = stopped.next() => {
                    if auth.verify(&msg).is_ok() {
                        lock(&tracker).stopped(&msg.payload);
                    }
                }
                else => return,
            }
        }
    });
    Ok(())
}
