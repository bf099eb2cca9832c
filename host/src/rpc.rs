//! [`Serving`]: an actor's invocations. One queue subscription on
//! `rpc.{actor}` per actor (queue group = actor id, so NATS balances calls
//! across every host running it), served by floe-lattice's one invocation
//! server (`floe_lattice::rpc::Server`: verify, bound, decode, deadline,
//! reply); this module supplies only what running a call on this host means,
//! waking a dormant replica first (`wake`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_lattice::rpc::{Call, Handler, PayloadStore, ServeConfig, Server};
use floe_wire::{ErrorKind, InvocationError, Subject};

use crate::actors::ActorHandle;
use crate::bus::{Bus, Unconfirmed};
use crate::loader::{LoadFailure, Loader};
use crate::metrics::Metrics;
use crate::runtime::{LoadedActor, LogSink, Router, Runtime};
use crate::tasks::Tasks;

/// After a failed wake, calls fail with its cause for this long before one
/// tries to load the code again.
const WAKE_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Calls one actor's subscription runs at once on this host (waiting for an
/// instance included); past it, calls are answered `busy` at once.
const MAX_IN_FLIGHT: usize = 4096;

/// Why an actor could not start serving.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("cannot subscribe to {subject}: {reason}")]
    Subscribe { subject: String, reason: String },
    #[error("cannot serve {subject}: {source}")]
    Unconfirmed {
        subject: String,
        source: Unconfirmed,
    },
}

/// Everything serving an actor's calls takes.
#[derive(Clone)]
pub struct Serving {
    pub bus: Bus,
    pub tasks: Tasks,
    pub runtime: Runtime,
    /// Loads a dormant replica's code again.
    pub loader: Loader,
    /// Payloads too large for one NATS message.
    pub payloads: Arc<PayloadStore>,
    /// Sends link-routed imports to their targets.
    pub router: Arc<dyn Router>,
    /// Publishes what actors log.
    pub logs: Arc<dyn LogSink>,
    /// Counts calls, when metrics are served.
    pub metrics: Option<Arc<Metrics>>,
    /// The longest deadline a call gets.
    pub max_deadline: Duration,
    /// How long a stop waits for a subscription to drain.
    pub drain_timeout: Duration,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("max_deadline", &self.max_deadline)
            .finish_non_exhaustive()
    }
}

impl Serving {
    /// Subscribes `rpc.{actor}` and waits until the server has registered
    /// the subscription, so the actor serves when this returns.
    pub async fn subscribe(&self, handle: &Arc<ActorHandle>) -> Result<(), SubscribeError> {
        let subject = self.bus.subject(&Subject::Rpc {
            entity: handle.id.clone(),
        });
        let sub = self
            .bus
            .nats()
            .queue_subscribe(subject.clone(), handle.id.clone())
            .await
            .map_err(|e| SubscribeError::Subscribe {
                subject: subject.clone(),
                reason: e.to_string(),
            })?;
        self.bus
            .flush()
            .await
            .map_err(|source| SubscribeError::Unconfirmed { subject, source })?;
        let server = Server::new(
            self.bus.nats().clone(),
            self.bus.auth().clone(),
            self.payloads.clone(),
            Arc::new(ActorCalls {
                serving: self.clone(),
                handle: handle.clone(),
            }),
            ServeConfig {
                entity: handle.id.clone(),
                kind: "actor",
                max_deadline: self.max_deadline,
                max_in_flight: MAX_IN_FLIGHT,
                drain_timeout: self.drain_timeout,
            },
        );
        let (stop, handle) = (handle.stop_signal(), handle.clone());
        let tracker = self.tasks.tracker().clone();
        self.tasks.spawn(async move {
            server.serve(sub, stop, tracker).await;
            handle.drained();
        });
        Ok(())
    }
}

/// Runs calls of one actor on this host.
#[derive(Debug)]
struct ActorCalls {
    serving: Serving,
    handle: Arc<ActorHandle>,
}

impl Handler for ActorCalls {
    async fn call(&self, call: &Call) -> Result<floe_wire::Answer, InvocationError> {
        let (serving, handle, envelope) = (&self.serving, &self.handle, &call.envelope);
        let started = Instant::now();
        let _in_host = handle.in_host();
        let _slot = handle.acquire(call.deadline).await?;
        let remaining = call.deadline.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(InvocationError::new(
                ErrorKind::TimedOut,
                "the deadline passed while waiting for an instance",
            ));
        }
        serving
            .run_call(
                handle,
                Invocation {
                    operation: &envelope.operation,
                    encoding: envelope.encoding,
                    payload: &envelope.payload,
                    id: envelope.id,
                    span: &call.span,
                },
                remaining,
            )
            .await
    }

    fn finished(&self, operation: &str, outcome: Result<(), ErrorKind>, elapsed: Duration) {
        self.handle.record(outcome);
        // Labels cost allocations and lookups on every call: only when the
        // metrics are served.
        if let Some(metrics) = &self.serving.metrics {
            let version = self.handle.replica.version();
            let exported = self
                .handle
                .replica
                .code()
                .is_some_and(|code| code.exports(operation));
            metrics.invocation(crate::metrics::Invocation {
                actor: &self.handle.id,
                name: &version.claims.floe.name,
                operation,
                exported,
                outcome,
                elapsed,
            });
        }
    }
}

/// One call's input, however it arrived.
struct Invocation<'a> {
    operation: &'a str,
    encoding: floe_wire::Encoding,
    payload: &'a [u8],
    id: uuid::Uuid,
    span: &'a floe_wire::trace::TraceContext,
}

impl Serving {
    /// Runs one call on `handle`'s version in force, waking a dormant
    /// replica first, within `within`.
    async fn run_call(
        &self,
        handle: &ActorHandle,
        call: Invocation<'_>,
        within: Duration,
    ) -> Result<floe_wire::Answer, InvocationError> {
        let started = Instant::now();
        let loaded = match handle.replica.begin_call() {
            Some(code) => code,
            None => tokio::time::timeout(within, self.wake(handle))
                .await
                .map_err(|_| {
                    InvocationError::new(
                        ErrorKind::TimedOut,
                        "the deadline passed while the dormant actor's code was loaded",
                    )
                })??,
        };
        let config = handle.config();
        loaded
            .invoke(
                &self.runtime,
                call.operation,
                call.encoding,
                call.payload,
                within.saturating_sub(started.elapsed()),
                &crate::runtime::CallEnv {
                    invocation: call.id,
                    trace: Some(call.span),
                    router: Some(&self.router),
                    config: &config,
                    logs: Some(&self.logs),
                    instances: Some(handle.instances_made()),
                },
            )
            .await
    }

    /// Runs one call of `handle` here, without NATS (ingress, for a replica
    /// on this host): `None` when no instance slot is free now, so the
    /// caller sends it to another replica over the lattice instead.
    pub async fn call_here(
        &self,
        handle: &Arc<ActorHandle>,
        operation: &str,
        payload: &[u8],
        deadline: Duration,
        span: &floe_wire::trace::TraceContext,
    ) -> Option<Result<floe_wire::Answer, InvocationError>> {
        let started = Instant::now();
        let _in_host = handle.in_host();
        let _slot = handle.try_acquire()?;
        let calls = ActorCalls {
            serving: self.clone(),
            handle: handle.clone(),
        };
        let result = self
            .run_call(
                handle,
                Invocation {
                    operation,
                    encoding: floe_wire::Encoding::Msgpack,
                    payload,
                    id: uuid::Uuid::now_v7(),
                    span,
                },
                deadline.saturating_sub(started.elapsed()),
            )
            .await;
        let outcome = result.as_ref().map(|_| ()).map_err(|e| e.kind);
        calls.finished(operation, outcome, started.elapsed());
        Some(result)
    }

    /// Wakes a dormant replica: one load at a time, run as a host task so
    /// that a caller whose deadline passes does not abandon it (bounded by
    /// the longest deadline); calls that arrive meanwhile wait for it and
    /// share its code. A wake of a version an update replaced meanwhile is
    /// done again for the version in force.
    async fn wake(&self, handle: &ActorHandle) -> Result<Arc<LoadedActor>, InvocationError> {
        loop {
            let replica = handle.replica.clone();
            let turn = replica.wake_turn().await;
            if let Some(code) = replica.code() {
                return Ok(code);
            }
            if let Some(cause) = replica.recent_failure(WAKE_RETRY_AFTER) {
                return Err(InvocationError::new(
                    ErrorKind::Internal,
                    format!("actor {} could not be loaded: {cause}", handle.id),
                ));
            }
            let (loader, version) = (self.loader.clone(), replica.version());
            let (metrics, limit) = (self.metrics.clone(), self.max_deadline);
            let woken = self.tasks.spawn(async move {
                let _turn = turn;
                let started = Instant::now();
                let outcome = tokio::time::timeout(limit, loader.wake(&version))
                    .await
                    .unwrap_or(Err(LoadFailure::TimedOut(limit)));
                let code = replica.woken(&version, outcome);
                match &code {
                    Ok(Some(_)) => {
                        let elapsed = started.elapsed();
                        tracing::info!(actor = %version.claims.sub, ms = elapsed.as_secs_f64() * 1e3, "dormant actor woken");
                        if let Some(metrics) = &metrics {
                            metrics.cold_start(elapsed);
                        }
                    }
                    Ok(None) => {}
                    Err(failure) => {
                        tracing::warn!(actor = %version.claims.sub, error = %failure, "dormant actor could not be loaded");
                    }
                }
                code
            });
            let woken = woken.await.map_err(|e| {
                InvocationError::new(ErrorKind::Internal, format!("the load task failed: {e}"))
            })?;
            match woken {
                Ok(Some(code)) => return Ok(code),
                Ok(None) => continue,
                Err(failure) => {
                    return Err(InvocationError::new(
                        ErrorKind::Internal,
                        format!("actor {} could not be loaded: {failure}", handle.id),
                    ));
                }
            }
        }
    }
}
