//! Which hosts are alive, from their heartbeats: a host that has not beaten
//! for `missed_beats × heartbeat` is lost (announced once by the leader),
//! one that stopped cleanly is forgotten at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use floe_wire::CloudEvent;
use floe_wire::events::HeartbeatData;

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
