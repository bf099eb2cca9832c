//! Putting idle actors to sleep: every `every`, each active replica that
//! served no call for its `idle-after`, with none in flight, goes dormant
//! and frees its compiled code (see `replica`).

use std::sync::Arc;
use std::time::Duration;

use crate::actors::ActorTable;
use crate::tasks::Tasks;

/// Checks the host's actors every `every` until the host stops.
pub fn spawn(actors: Arc<ActorTable>, tasks: &Tasks, every: Duration) {
    let stopping = tasks.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stopping.stopping() => return,
                _ = tick.tick() => {}
            }
            let now = tokio::time::Instant::now();
            for actor in actors.all() {
                if actor.sleep_if_idle(now) {
                    tracing::info!(actor = %actor.id, "idle: dormant until its next call");
                }
            }
        }
    });
}
