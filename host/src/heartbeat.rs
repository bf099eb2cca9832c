//! The periodic `host_heartbeat` event: the host's summary and the digest
//! of what it runs (`Status::placement_digest`).

use std::time::Duration;

use floe_wire::EventType;
use floe_wire::events::HeartbeatData;

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
            let beat = HeartbeatData {
                host: status.info(),
                placement_digest: status.placement_digest(),
                actors_running: Vec::new(),
            };
            bus.publish(EventType::HostHeartbeat, &beat).await;
        }
    });
}
