//! Which hosts are alive, from their heartbeats: a host that has not beaten
//! for `missed_beats × heartbeat` is lost (announced once by the leader),
//! one that stopped cleanly is forgotten at once. Each heartbeat also says
//! the digest of what its host runs, so the leader asks for an inventory
//! only when it changed. Only the leader follows heartbeats (a follower
//! needs the lease, not every host's liveness): they are read by a task of
//! their own while it leads, stamped when they arrive, so a long pass never
//! delays them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use floe_lattice::LatticeAuth;
use floe_wire::events::{ActorLoad, HeartbeatData};
use floe_wire::{CloudEvent, EventType, Subject};
use futures::StreamExt as _;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
pub struct HostTracker {
    /// Silence after which a host is lost.
    grace: Duration,
    last_seen: BTreeMap<String, Instant>,
    /// The placement digest of each host's last heartbeat.
    digests: BTreeMap<String, String>,
    /// Each host's load per actor, from its last heartbeat.
    loads: BTreeMap<String, BTreeMap<String, ActorLoad>>,
    /// Hosts that said goodbye: a heartbeat of theirs that arrives late is
    /// ignored for one grace.
    stopped: BTreeMap<String, Instant>,
    /// When following began: until one grace has passed, hosts may be
    /// alive that were not heard yet.
    since: Instant,
}

impl HostTracker {
    pub fn new(grace: Duration) -> Self {
        HostTracker {
            grace,
            last_seen: BTreeMap::new(),
            digests: BTreeMap::new(),
            loads: BTreeMap::new(),
            stopped: BTreeMap::new(),
            since: Instant::now(),
        }
    }

    /// A (verified) `host_heartbeat` event.
    pub fn heartbeat(&mut self, payload: &[u8]) {
        let Ok(event) = serde_json::from_slice::<CloudEvent>(payload) else {
            return;
        };
        if let Ok(beat) = serde_json::from_value::<HeartbeatData>(event.data) {
            let grace = self.grace;
            self.stopped.retain(|_, at| at.elapsed() <= grace);
            if !self.stopped.contains_key(&beat.host.host_id) {
                self.digests
                    .insert(beat.host.host_id.clone(), beat.placement_digest);
                self.loads.insert(beat.host.host_id.clone(), beat.load);
                self.last_seen.insert(beat.host.host_id, Instant::now());
            }
        }
    }

    /// A (verified) `host_stopped` event: gone, and not lost.
    pub fn stopped(&mut self, payload: &[u8]) {
        let Ok(event) = serde_json::from_slice::<CloudEvent>(payload) else {
            return;
        };
        self.last_seen.remove(&event.source);
        self.digests.remove(&event.source);
        self.loads.remove(&event.source);
        self.stopped.insert(event.source, Instant::now());
    }

    /// The placement digest of `host`'s last heartbeat (empty: unknown).
    pub fn digest(&self, host: &str) -> &str {
        self.digests.get(host).map_or("", String::as_str)
    }

    /// Each actor's load summed over the live hosts' last heartbeats.
    pub fn loads(&self) -> BTreeMap<String, ActorLoad> {
        let alive = self.alive();
        let mut sum: BTreeMap<String, ActorLoad> = BTreeMap::new();
        for (host, loads) in &self.loads {
            if !alive.contains(host) {
                continue;
            }
            for (actor, load) in loads {
                let total = sum.entry(actor.clone()).or_default();
                total.in_flight_milli = total.in_flight_milli.saturating_add(load.in_flight_milli);
                total.busy = total.busy.saturating_add(load.busy);
            }
        }
        sum
    }

    /// True once heartbeats have been followed for one grace: every live
    /// host has been heard by then.
    pub fn warmed_up(&self) -> bool {
        self.since.elapsed() >= self.grace
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
            self.digests.remove(id);
            self.loads.remove(id);
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
/// task until `shutdown` (the subscriptions end with it).
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

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(3);

    fn event(kind: EventType, host: &str) -> Vec<u8> {
        let info = floe_wire::control::HostInfo {
            host_id: host.to_owned(),
            lattice: "default".to_owned(),
            version: "0".to_owned(),
            target: String::new(),
            labels: Default::default(),
            started_at: String::new(),
            uptime_secs: 0,
            actors: 0,
            providers: 0,
            rejected: Default::default(),
            lattice_hosts: 0,
            secrets_keys: Vec::new(),
        };
        let data = match kind {
            EventType::HostHeartbeat => serde_json::to_value(HeartbeatData {
                host: info,
                placement_digest: format!("{host}-digest"),
                actors_running: Vec::new(),
                load: [(
                    "MECHO".to_owned(),
                    ActorLoad {
                        in_flight_milli: 1500,
                        busy: 1,
                    },
                )]
                .into(),
            }),
            _ => serde_json::to_value(info),
        }
        .expect("json");
        serde_json::to_vec(&CloudEvent::new(kind, host, String::new(), data)).expect("json")
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_host_is_lost_once_after_the_grace() {
        let mut tracker = HostTracker::new(GRACE);
        assert!(!tracker.warmed_up());
        tracker.heartbeat(&event(EventType::HostHeartbeat, "NA"));
        tracker.heartbeat(&event(EventType::HostHeartbeat, "NB"));
        tokio::time::advance(Duration::from_secs(2)).await;
        tracker.heartbeat(&event(EventType::HostHeartbeat, "NB"));
        assert_eq!(tracker.alive(), ["NA", "NB"]);
        assert_eq!(tracker.digest("NB"), "NB-digest");
        assert_eq!(tracker.digest("NC"), "", "never heard");
        assert_eq!(
            tracker.loads()["MECHO"],
            ActorLoad {
                in_flight_milli: 3000,
                busy: 2
            },
            "summed over the live hosts"
        );
        assert!(tracker.take_lost().is_empty(), "both beat within the grace");

        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(tracker.warmed_up(), "followed for one grace");
        assert_eq!(tracker.alive(), ["NB"]);
        let lost = tracker.take_lost();
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].0, "NA");
        assert_eq!(
            lost[0].1,
            Duration::from_secs(4),
            "silent since its last beat"
        );
        assert!(tracker.take_lost().is_empty(), "announced once");
        assert_eq!(
            tracker.digest("NA"),
            "",
            "a lost host's digest is forgotten"
        );
        // A lost host that beats again is alive again.
        tracker.heartbeat(&event(EventType::HostHeartbeat, "NA"));
        assert_eq!(tracker.alive(), ["NA", "NB"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_clean_stop_is_not_a_loss_and_its_late_beats_are_ignored() {
        let mut tracker = HostTracker::new(GRACE);
        tracker.heartbeat(&event(EventType::HostHeartbeat, "NA"));
        tracker.stopped(&event(EventType::HostStopped, "NA"));
        assert!(tracker.alive().is_empty());
        // A heartbeat sent before the stop and delivered after it.
        tokio::time::advance(Duration::from_secs(1)).await;
        tracker.heartbeat(&event(EventType::HostHeartbeat, "NA"));
        assert!(tracker.alive().is_empty(), "a late beat does not revive it");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(tracker.take_lost().is_empty(), "stopped, never lost");
        // After a grace, the same id beating again is a host started again.
        tracker.heartbeat(&event(EventType::HostHeartbeat, "NA"));
        assert_eq!(tracker.alive(), ["NA"]);
        // Garbage is ignored.
        tracker.heartbeat(b"not json");
        tracker.stopped(b"{}");
        assert_eq!(tracker.alive(), ["NA"]);
    }
}
