//! The periodic `host_heartbeat` event: the host's summary, the digest of
//! what it runs (`Status::placement_digest`), and each busy actor's load
//! since the last beat (calls in flight on average, calls answered `busy`),
//! which autoscaling follows.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use floe_wire::EventType;
use floe_wire::events::{ActorLoad, HeartbeatData};

use crate::bus::Bus;
use crate::status::Status;
use crate::tasks::Tasks;

/// Publishes a heartbeat every `every` until the host stops.
pub fn spawn(bus: Bus, status: Status, tasks: &Tasks, every: Duration) {
    let stopping = tasks.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut loads = Loads::default();
        loop {
            tokio::select! {
                () = stopping.stopping() => return,
                _ = tick.tick() => {}
            }
            let beat = HeartbeatData {
                host: status.info(),
                placement_digest: status.placement_digest(),
                actors_running: Vec::new(),
                load: loads.since_last(&status),
            };
            bus.publish(EventType::HostHeartbeat, &beat).await;
        }
    });
}

/// Each actor's load since the last beat.
#[derive(Debug, Default)]
struct Loads {
    at: Option<Instant>,
    /// Busy answers counted at the last beat, by actor.
    busy: HashMap<String, u64>,
}

impl Loads {
    fn since_last(&mut self, status: &Status) -> BTreeMap<String, ActorLoad> {
        let now = Instant::now();
        let period = self.at.replace(now).map(|at| now.duration_since(at));
        let mut busy_now = HashMap::new();
        let mut load = BTreeMap::new();
        for actor in status.actors.all() {
            let (area_ns, busy) = actor.take_load();
            if let Some(period) = period {
                let period_ns = period.as_nanos().max(1);
                let sample = ActorLoad {
                    in_flight_milli: u64::try_from(area_ns * 1000 / period_ns).unwrap_or(u64::MAX),
                    busy: busy.saturating_sub(self.busy.get(&actor.id).copied().unwrap_or(busy)),
                };
                if sample != ActorLoad::default() {
                    load.insert(actor.id.clone(), sample);
                }
            }
            busy_now.insert(actor.id.clone(), busy);
        }
        self.busy = busy_now;
        load
    }
}
