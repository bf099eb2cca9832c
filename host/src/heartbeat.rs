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

/// The load counters at the last beat, to report what changed since.
#[derive(Debug, Default)]
struct Loads {
    at: Option<Instant>,
    counters: HashMap<String, (u64, u64)>,
}

impl Loads {
    fn since_last(&mut self, status: &Status) -> BTreeMap<String, ActorLoad> {
        let now = Instant::now();
        let period = self.at.replace(now).map(|at| now.duration_since(at));
        let mut counters = HashMap::new();
        let mut load = BTreeMap::new();
        for actor in status.actors.all() {
            let (busy_ns, busy) = actor.load_counters();
            if let (Some(period), Some((was_ns, was_busy))) = (period, self.counters.get(&actor.id))
            {
                let period_ns = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX).max(1);
                let spent = busy_ns.saturating_sub(*was_ns);
                let sample = ActorLoad {
                    in_flight_milli: u64::try_from(
                        u128::from(spent) * 1000 / u128::from(period_ns),
                    )
                    .unwrap_or(u64::MAX),
                    busy: busy.saturating_sub(*was_busy),
                };
                if sample != ActorLoad::default() {
                    load.insert(actor.id.clone(), sample);
                }
            }
            counters.insert(actor.id.clone(), (busy_ns, busy));
        }
        self.counters = counters;
        load
    }
}
