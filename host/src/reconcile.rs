//! The embedded reconciler (floe-reconciler): every host runs one, the
//! holder of the lease leads; its events go out sealed like the host's own.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use floe_reconciler::{EventSink, ReconcilerConfig};
use floe_wire::EventType;

use crate::bus::Bus;
use crate::tasks::Tasks;

struct HostEvents(Bus);

impl EventSink for HostEvents {
    fn publish(
        &self,
        kind: EventType,
        data: serde_json::Value,
    ) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async move { self.0.publish(kind, &data).await })
    }
}

/// Runs this host's reconciler until the host stops; `members` learns how
/// many hosts it hears.
pub fn spawn(bus: Bus, tasks: &Tasks, members: Arc<AtomicUsize>, config: ReconcilerConfig) {
    tasks.spawn(floe_reconciler::run(
        bus.nats().clone(),
        bus.auth().clone(),
        bus.host_id().to_owned(),
        config,
        Arc::new(HostEvents(bus.clone())),
        members,
        tasks.stop_signal(),
    ));
}
