//! The embedded reconciler (floe-reconciler): every host runs one, the
//! holder of the lease leads; its events go out sealed like the host's own.

use std::sync::Arc;

use floe_reconciler::{EventSink, ReconcilerConfig};
use floe_wire::EventType;

use crate::host::HostCore;

struct HostEvents(Arc<HostCore>);

impl EventSink for HostEvents {
    fn publish(
        &self,
        kind: EventType,
        data: serde_json::Value,
    ) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async move { self.0.publish(kind, &data).await })
    }
}

pub fn spawn(core: &Arc<HostCore>) {
    let config = ReconcilerConfig {
        lease_ttl: core.config.lease_ttl,
        heartbeat: core.config.heartbeat,
        missed_beats: core.config.missed_beats,
        interval: core.config.reconcile_interval,
        ping_window: (core.config.heartbeat / 2).clamp(
            std::time::Duration::from_millis(100),
            std::time::Duration::from_secs(1),
        ),
    };
    core.tracker.spawn(floe_reconciler::run(
        core.nats.clone(),
        core.auth.clone(),
        core.id.clone(),
        config,
        Arc::new(HostEvents(core.clone())),
        core.lattice_hosts.clone(),
        core.shutdown.clone(),
    ));
}
