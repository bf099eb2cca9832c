//! The serving half of the invocation path, one loop for hosts (actors) and
//! providers alike: each message on `rpc.{entity}` is verified *before* any
//! task is spawned for it (a message that fails is dropped and counted, never
//! answered: its reply subject is the sender's choice), bounded (past
//! `max_in_flight` calls it is answered `busy` at once), then in its own task
//! decoded (a large payload taken from the store), given a capped deadline,
//! run by the [`Handler`], and answered: sealed, its result sent through the
//! payload store when too large for one message. Stopping unsubscribes and
//! answers what the server already delivered.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_wire::trace::TraceContext;
use floe_wire::{Answer, Envelope, ErrorKind, InvocationError, InvocationReply};
use futures::StreamExt as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::LatticeAuth;
use crate::payloads::PayloadStore;

/// Calls one server runs at once unless told otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// Time a handler gets past the call's deadline to give its own typed
/// `timed_out` before the server gives one for it.
const HANDLER_GRACE: Duration = Duration::from_millis(50);

/// How one entity's calls are served.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The entity served (an actor or provider id): a call for another
    /// target is refused `not_found`.
    pub entity: String,
    /// What the entity is (`actor`, `provider`), in logs and spans.
    pub kind: &'static str,
    /// The longest deadline a call gets, whatever its caller asks; also the
    /// deadline of a call that names none.
    pub max_deadline: Duration,
    /// Calls running at once; past it a call is answered `busy` at once.
    pub max_in_flight: usize,
    /// How long a stop waits for the subscription to drain.
    pub drain_timeout: Duration,
}

/// One verified, decoded call, its payload in the envelope.
#[derive(Debug)]
pub struct Call {
    pub envelope: Envelope,
    /// The time it has: the caller's deadline, capped.
    pub deadline: Duration,
    /// This call's span, in the caller's trace when it sent one.
    pub span: TraceContext,
}

/// What an entity does with its calls.
pub trait Handler: Send + Sync + 'static {
    /// Runs one call within `call.deadline`.
    fn call(&self, call: &Call) -> impl Future<Output = Result<Answer, InvocationError>> + Send;

    /// After each call that decoded, with its operation, outcome and time
    /// (counters, metrics).
    fn finished(&self, _operation: &str, _outcome: Result<(), ErrorKind>, _elapsed: Duration) {}
}

/// Everything a serving loop holds.
#[derive(Debug)]
pub struct Server<H> {
    nats: async_nats::Client,
    auth: Arc<LatticeAuth>,
    payloads: Arc<PayloadStore>,
    handler: Arc<H>,
    config: ServeConfig,
    permits: Arc<Semaphore>,
}

impl<H: Handler> Server<H> {
    pub fn new(
        nats: async_nats::Client,
        auth: Arc<LatticeAuth>,
        payloads: Arc<PayloadStore>,
        handler: Arc<H>,
        config: ServeConfig,
    ) -> Arc<Self> {
        Arc::new(Server {
            permits: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            nats,
            auth,
            payloads,
            handler,
            config,
        })
    }

    /// Serves `sub` until `stop`, spawning calls onto `tracker`; then
    /// unsubscribes and answers what was already delivered (bounded by the
    /// drain timeout: with the server gone, a drain never completes).
    pub async fn serve(
        self: Arc<Self>,
        mut sub: async_nats::Subscriber,
        stop: CancellationToken,
        tracker: TaskTracker,
    ) {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                msg = sub.next() => match msg {
                    Some(msg) => self.admit(msg, &tracker).await,
                    None => return,
                },
            }
        }
        // Boxed, as the busy answer below: the loop's own future (kept by
        // every serving task, dormant actors' too) stays a few words.
        let drained = Box::pin(async {
            if self.nats.connection_state() != async_nats::connection::State::Connected {
                return;
            }
            if let Err(e) = sub.drain().await {
                tracing::warn!(entity = %self.config.entity, error = %e, "cannot drain subscription");
                return;
            }
            while let Some(msg) = sub.next().await {
                self.admit(msg, &tracker).await;
            }
        });
        if tokio::time::timeout(self.config.drain_timeout, drained)
            .await
            .is_err()
        {
            tracing::warn!(entity = %self.config.entity, "subscription did not drain in time");
        }
    }

    /// Verifies one message and starts its call, or answers `busy`.
    async fn admit(self: &Arc<Self>, msg: async_nats::Message, tracker: &TaskTracker) {
        let Some(reply_to) = msg.reply.clone() else {
            return;
        };
        if self.auth.verify(&msg).is_err() {
            // Counted and logged (rate-limited) by `verify`; no answer.
            return;
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let server = self.clone();
                tracker.spawn(async move {
                    server.answer(msg.payload, reply_to.to_string()).await;
                    drop(permit);
                });
            }
            Err(_) => {
                let decoded = Envelope::decode(&msg.payload).ok();
                if let Some(reference) = decoded.as_ref().and_then(|e| e.payload_ref.clone()) {
                    // Not in this loop: admission never waits on the store.
                    let server = self.clone();
                    tracker.spawn(async move { server.payloads.discard(&reference).await });
                }
                let id = decoded.map_or(uuid::Uuid::nil(), |e| e.id);
                let busy = InvocationError::new(
                    ErrorKind::Busy,
                    format!(
                        "{} {} already runs {} calls",
                        self.config.kind, self.config.entity, self.config.max_in_flight
                    ),
                );
                Box::pin(self.send(reply_to.to_string(), InvocationReply::new(id, Err(busy))))
                    .await;
            }
        }
    }

    async fn answer(&self, payload: bytes::Bytes, reply_to: String) {
        let started = Instant::now();
        let envelope = match Envelope::decode(&payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::warn!(entity = %self.config.entity, error = %e, "malformed envelope");
                self.handler
                    .finished("", Err(ErrorKind::BadArguments), started.elapsed());
                let error = InvocationError::new(ErrorKind::BadArguments, e.to_string());
                self.send(
                    reply_to,
                    InvocationReply::new(uuid::Uuid::nil(), Err(error)),
                )
                .await;
                return;
            }
        };
        drop(payload);
        let id = envelope.id;
        let deadline = match envelope.deadline_ms {
            0 => self.config.max_deadline,
            ms => Duration::from_millis(u64::from(ms)).min(self.config.max_deadline),
        };
        let (span, parent) = TraceContext::for_invocation(envelope.trace.as_deref());
        let operation = envelope.operation.clone();
        let outcome = self.run(envelope, deadline, &span, started).await;
        let result = outcome.as_ref().map(|_| ()).map_err(|e| e.kind);
        let elapsed = started.elapsed();
        self.handler.finished(&operation, result, elapsed);
        if span.sampled {
            // A sampled trace asks every process to record its span.
            tracing::info!(
                trace_id = %span.trace_id,
                span_id = %span.span_id,
                parent_span = parent.as_ref().map_or("", |p| p.span_id.as_str()),
                kind = self.config.kind,
                entity = %self.config.entity,
                operation = %operation,
                outcome = result.map_or_else(|k| k.as_str(), |()| "ok"),
                elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                "span"
            );
        }
        if let Err(e) = &outcome
            && matches!(
                e.kind,
                ErrorKind::Trapped | ErrorKind::TimedOut | ErrorKind::Internal
            )
        {
            tracing::warn!(entity = %self.config.entity, invocation = %id, kind = %e.kind, "{}", e.message);
        }
        let reply = match outcome {
            Ok(answer) if self.payloads.must_spill(answer.bytes.len()) => {
                Box::pin(self.spill(id, answer, deadline.saturating_sub(elapsed))).await
            }
            outcome => InvocationReply::answered(id, outcome),
        };
        self.send(reply_to, reply).await;
    }

    /// Runs one decoded call: checks its target, takes a large payload from
    /// the store, and runs the handler within the deadline, a panic caught.
    async fn run(
        &self,
        mut envelope: Envelope,
        deadline: Duration,
        span: &TraceContext,
        started: Instant,
    ) -> Result<Answer, InvocationError> {
        if envelope.target != self.config.entity {
            if let Some(reference) = &envelope.payload_ref {
                Box::pin(self.payloads.discard(reference)).await;
            }
            return Err(InvocationError::new(
                ErrorKind::NotFound,
                format!(
                    "this subscription serves {} {}, not {}",
                    self.config.kind, self.config.entity, envelope.target
                ),
            ));
        }
        if let Some(reference) = envelope.payload_ref.take() {
            // Boxed, as every rare path here: the store's futures are
            // large, and this task's state is moved when it is spawned.
            let take = Box::pin(self.payloads.take(&reference));
            let taken = tokio::time::timeout(deadline, take).await;
            envelope.payload = serde_bytes::ByteBuf::from(taken.map_err(|_| {
                InvocationError::new(ErrorKind::TimedOut, "the payload store did not answer")
            })??);
        }
        let call = Call {
            deadline: deadline.saturating_sub(started.elapsed()),
            envelope,
            span: span.clone(),
        };
        // A panic in a handler must still produce a reply. Boxed: a
        // handler's future (a wasm call's) is large, and the task that
        // holds it is moved when spawned.
        let run = std::panic::AssertUnwindSafe(Box::pin(self.handler.call(&call)));
        let run = futures::FutureExt::catch_unwind(run);
        match tokio::time::timeout(call.deadline.saturating_add(HANDLER_GRACE), run).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(InvocationError::new(
                ErrorKind::Internal,
                format!(
                    "the {} failed while running this call (see its log)",
                    self.config.kind
                ),
            )),
            Err(_) => Err(InvocationError::new(
                ErrorKind::TimedOut,
                format!("no answer within {} ms", call.deadline.as_millis()),
            )),
        }
    }

    /// The reply to a result too large for one message: the result
    /// through the payload store.
    async fn spill(&self, id: uuid::Uuid, answer: Answer, left: Duration) -> InvocationReply {
        let object = format!("{}.result", id.simple());
        let put = tokio::time::timeout(
            left.max(Duration::from_secs(1)),
            self.payloads
                .put(object, &answer.bytes, ErrorKind::Internal),
        )
        .await;
        match put {
            Ok(Ok(reference)) => InvocationReply::by_reference(id, reference, answer.err_case),
            Ok(Err(mut e)) => {
                e.message = format!("cannot return the result: {}", e.message);
                InvocationReply::new(id, Err(e))
            }
            Err(_) => InvocationReply::new(
                id,
                Err(InvocationError::new(
                    ErrorKind::TimedOut,
                    "the payload store did not take the result in time",
                )),
            ),
        }
    }

    async fn send(&self, reply_to: String, reply: InvocationReply) {
        match reply.encode() {
            Ok(bytes) => {
                if let Err(e) = self.auth.publish(&self.nats, reply_to, bytes.into()).await {
                    tracing::warn!(entity = %self.config.entity, error = %e, "cannot send a reply");
                }
            }
            Err(e) => {
                tracing::error!(entity = %self.config.entity, error = %e, "cannot encode a reply");
            }
        }
    }
}
