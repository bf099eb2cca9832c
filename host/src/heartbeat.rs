//! The periodic `host_heartbeat` event with the inventory summary.

use std::sync::Arc;

use floe_wire::EventType;
use floe_wire::events::{ActorSummary, HeartbeatData};

use crate::host::HostCore;

pub fn spawn(core: &Arc<HostCore>) {
    let core = core.clone();
    let tracker = core.tracker.clone();
    tracker.spawn(async move {
        let mut tick = tokio::time::interval(core.config.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = core.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let actors_running = core
                .actors
                .all()
                .iter()
                .map(|a| {
                    let loaded = a.current();
                    ActorSummary {
                        actor_id: a.id.clone(),
                        name: loaded.claims.floe.name.clone(),
                        version: loaded.claims.floe.version.clone(),
                        max_concurrent: a.max_concurrent(),
                    }
                })
                .collect();
            let beat = HeartbeatData {
                host: core.info(),
                actors_running,
            };
            core.publish(EventType::HostHeartbeat, &beat).await;
        }
    });
}
