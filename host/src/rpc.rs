//! Serving an actor's invocations: one queue subscription on `rpc.{actor}`
//! per actor (queue group = actor id, so NATS balances calls across every
//! host running it), served by floe-lattice's one invocation server
//! (`floe_lattice::rpc::Server`: verify, bound, decode, deadline, reply);
//! this module supplies only what running a call on this host means.

use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_lattice::rpc::{Call, Handler, ServeConfig, Server};
use floe_wire::{ErrorKind, InvocationError, Subject};

use crate::actors::ActorHandle;
use crate::host::HostCore;

/// Calls one actor's subscription runs at once on this host (waiting for an
/// instance included); past it, calls are answered `busy` at once.
const MAX_IN_FLIGHT: usize = 4096;

/// Subscribes `rpc.{actor}` and waits until the server has registered the
/// subscription, so the actor serves when this returns.
pub async fn subscribe(core: &Arc<HostCore>, handle: &Arc<ActorHandle>) -> Result<(), String> {
    let subject = Subject::Rpc {
        entity: handle.id.clone(),
    }
    .render(&core.lattice);
    let sub = core
        .nats
        .queue_subscribe(subject.clone(), handle.id.clone())
        .await
        .map_err(|e| format!("cannot subscribe to {subject}: {e}"))?;
    match tokio::time::timeout(FLUSH_TIMEOUT, core.nats.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(format!(
                "cannot register the subscription to {subject}: {e}"
            ));
        }
        Err(_) => {
            return Err(format!(
                "NATS did not confirm the subscription to {subject} within {FLUSH_TIMEOUT:?}"
            ));
        }
    }
    let server = Server::new(
        core.nats.clone(),
        core.auth.clone(),
        core.payloads.clone(),
        Arc::new(ActorCalls {
            core: core.clone(),
            handle: handle.clone(),
        }),
        ServeConfig {
            entity: handle.id.clone(),
            kind: "actor",
            max_deadline: core.config.invocation_timeout,
            max_in_flight: MAX_IN_FLIGHT,
            drain_timeout: core.config.shutdown_timeout,
        },
    );
    let (stop, handle) = (handle.stop.clone(), handle.clone());
    let tracker = core.tracker.clone();
    core.tracker.spawn(async move {
        server.serve(sub, stop, tracker).await;
        handle.drained.cancel();
    });
    Ok(())
}

/// How long registering a subscription may take before a start fails.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs calls of one actor on this host.
#[derive(Debug)]
struct ActorCalls {
    core: Arc<HostCore>,
    handle: Arc<ActorHandle>,
}

impl Handler for ActorCalls {
    async fn call(&self, call: &Call) -> Result<Vec<u8>, InvocationError> {
        let (core, handle, envelope) = (&self.core, &self.handle, &call.envelope);
        let started = Instant::now();
        let _slot = handle.acquire(call.deadline).await?;
        let remaining = call.deadline.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(InvocationError::new(
                ErrorKind::TimedOut,
                "the deadline passed while waiting for an instance",
            ));
        }
        let loaded = handle.current();
        loaded
            .invoke(
                &core.runtime,
                &envelope.operation,
                envelope.encoding,
                &envelope.payload,
                remaining,
                &crate::runtime::CallEnv {
                    invocation: envelope.id,
                    trace: Some(&call.span),
                    router: Some(&core.router),
                    config: &handle.config,
                    logs: Some(&core.logs),
                },
            )
            .await
    }

    fn finished(&self, operation: &str, outcome: Result<(), ErrorKind>, elapsed: Duration) {
        self.handle.record(outcome);
        // Labels cost allocations and lookups on every call: only when the
        // metrics are served.
        if self.core.config.metrics_addr.is_some() {
            let loaded = self.handle.current();
            self.core.metrics.invocation(crate::metrics::Invocation {
                actor: &self.handle.id,
                name: &loaded.claims.floe.name,
                operation,
                exported: loaded.exports(operation),
                outcome,
                elapsed,
            });
        }
    }
}
