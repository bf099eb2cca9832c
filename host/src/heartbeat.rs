//! The periodic `host_heartbeat` event with the inventory summary.

use std::time::Duration;

use floe_wire::EventType;
use floe_wire::events::{ActorSummary, HeartbeatData};

use crate::bus::Bus;
use crate::status::Status;
use crate::tasks::Tasks;

/// Publishes a heartbeat every `every` until the host stops.
pub fn spawn(bus: Bus, status: Status, tasks: &Tasks, every: Duration) {
    let stopping = tasks.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stopping.stopping() => return,
                _ = tick.tick() => {}
            }
            let actors_running = status
                .actors
                .all()
                .iter()
                .map(|a| {
                    let loaded = a.replica.version();
                    ActorSummary {
                        actor_id: a.id.clone(),
                        name: loaded.claims.floe.name.clone(),
                        version: loaded.claims.floe.version.clone(),
                        max_concurrent: a.max_concurrent(),
                    }
                })
                .collect();
            let beat = HeartbeatData {
                host: status.info(),
                actors_running,
            };
            bus.publish(EventType::HostHeartbeat, &beat).await;
        }
    });
}
