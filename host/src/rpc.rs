//! Serving invocations: one queue subscription on `rpc.{actor}` per actor
//! (queue group = actor id, so NATS balances calls across every host running
//! it), one task per call, typed error replies, and draining on stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_wire::envelope::ENVELOPE_VERSION;
use floe_wire::trace::TraceContext;
use floe_wire::{Envelope, ErrorKind, InvocationError, InvocationReply, Subject};
use futures::StreamExt as _;
use serde_bytes::ByteBuf;

use crate::actors::ActorHandle;
use crate::host::HostCore;

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
    core.tracker.spawn(serve(core.clone(), handle.clone(), sub));
    Ok(())
}

/// How long registering a subscription may take before a start fails.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

async fn serve(core: Arc<HostCore>, handle: Arc<ActorHandle>, sub: async_nats::Subscriber) {
    take_calls(&core, &handle, sub).await;
    handle.drained.cancel();
}

async fn take_calls(
    core: &Arc<HostCore>,
    handle: &Arc<ActorHandle>,
    mut sub: async_nats::Subscriber,
) {
    loop {
        tokio::select! {
            _ = handle.stop.cancelled() => break,
            _ = core.shutdown.cancelled() => break,
            msg = sub.next() => match msg {
                Some(msg) => spawn_call(core, handle, msg),
                None => return,
            },
        }
    }
    // Unsubscribe, then answer what the server already delivered. Both
    // steps are bounded: with the server gone, a drain never completes.
    let limit = core.config.shutdown_timeout;
    let drained = async {
        if core.nats.connection_state() != async_nats::connection::State::Connected {
            return;
        }
        if let Err(e) = sub.drain().await {
            tracing::warn!(actor = %handle.id, error = %e, "cannot drain subscription");
            return;
        }
        while let Some(msg) = sub.next().await {
            spawn_call(core, handle, msg);
        }
    };
    if tokio::time::timeout(limit, drained).await.is_err() {
        tracing::warn!(actor = %handle.id, "subscription did not drain within the shutdown timeout");
    }
}

fn spawn_call(core: &Arc<HostCore>, handle: &Arc<ActorHandle>, msg: async_nats::Message) {
    core.tracker
        .spawn(answer(core.clone(), handle.clone(), msg));
}

async fn answer(core: Arc<HostCore>, handle: Arc<ActorHandle>, msg: async_nats::Message) {
    let Some(reply_to) = msg.reply.clone() else {
        tracing::debug!(actor = %handle.id, "dropping an invocation without a reply subject");
        return;
    };
    let started = Instant::now();
    if let Err(e) = core.auth.verify(&msg) {
        // Never run, and not counted as the actor's failure: the host's
        // `rejected` counters say what was refused.
        refuse_unsealed(&core, &reply_to, floe_lattice::unauthorized_reply(&e)).await;
        return;
    }
    let decoded = Envelope::decode(&msg.payload).map_err(|e| {
        tracing::warn!(actor = %handle.id, error = %e, "malformed envelope");
        InvocationError::new(ErrorKind::BadArguments, e.to_string())
    });
    let mut operation = String::new();
    let mut traced = None;
    let (id, outcome) = match decoded {
        Ok(envelope) => {
            operation.clone_from(&envelope.operation);
            // This invocation's span, in the caller's trace when it sent one.
            let (span, parent) = TraceContext::for_invocation(envelope.trace.as_deref());
            // A panic inside the runtime must still produce a reply.
            let guarded = std::panic::AssertUnwindSafe(call(&core, &handle, &envelope, &span));
            let outcome = futures::FutureExt::catch_unwind(guarded)
                .await
                .unwrap_or_else(|_| {
                    Err(InvocationError::new(
                        ErrorKind::Internal,
                        "the host failed while running this call (see its log)",
                    ))
                });
            traced = span.sampled.then_some((span, parent));
            (envelope.id, outcome)
        }
        Err(e) => (uuid::Uuid::nil(), Err(e)),
    };
    let result = outcome.as_ref().map(|_| ()).map_err(|e| e.kind);
    handle.record(result);
    if let Some((span, parent)) = &traced {
        // A sampled trace asks every process to record its span.
        tracing::info!(
            trace_id = %span.trace_id,
            span_id = %span.span_id,
            parent_span = parent.as_ref().map_or("", |p| p.span_id.as_str()),
            actor = %handle.id,
            operation = %operation,
            outcome = result.map_or_else(|k| k.as_str(), |()| "ok"),
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "span"
        );
    }
    // Labels cost allocations and lookups on every call: only when the
    // metrics are served.
    if core.config.metrics_addr.is_some() {
        let loaded = handle.current();
        core.metrics.invocation(crate::metrics::Invocation {
            actor: &handle.id,
            name: &loaded.claims.floe.name,
            operation: &operation,
            exported: loaded.exports(&operation),
            outcome: result,
            elapsed: started.elapsed(),
        });
    }
    if let Err(e) = &outcome
        && matches!(
            e.kind,
            ErrorKind::Trapped | ErrorKind::TimedOut | ErrorKind::Internal
        )
    {
        tracing::warn!(actor = %handle.id, invocation = %id, kind = %e.kind, "{}", e.message);
    }
    let reply = fit_reply(&core, id, outcome);
    match reply.encode() {
        Ok(bytes) => {
            if let Err(e) = core
                .auth
                .publish(&core.nats, reply_to.to_string(), bytes.into())
                .await
            {
                tracing::warn!(actor = %handle.id, invocation = %id, error = %e, "cannot send reply");
            }
        }
        Err(e) => {
            tracing::error!(actor = %handle.id, invocation = %id, error = %e, "cannot encode reply")
        }
    }
}

/// Refuses a request that failed authentication (floe-lattice's rule:
/// unsealed, and only to a request inbox).
pub async fn refuse_unsealed(core: &HostCore, reply_to: &str, body: Vec<u8>) {
    floe_lattice::refuse_unsealed(&core.nats, reply_to, body).await;
}

async fn call(
    core: &HostCore,
    handle: &ActorHandle,
    envelope: &Envelope,
    span: &TraceContext,
) -> Result<Vec<u8>, InvocationError> {
    if envelope.target != handle.id {
        return Err(InvocationError::new(
            ErrorKind::NotFound,
            format!(
                "this subscription serves {}, not {}",
                handle.id, envelope.target
            ),
        ));
    }
    let limit = core.config.invocation_timeout;
    let deadline = match envelope.deadline_ms {
        0 => limit,
        ms => Duration::from_millis(u64::from(ms)).min(limit),
    };
    let started = Instant::now();
    let _slot = handle.acquire(deadline).await?;
    let remaining = deadline.saturating_sub(started.elapsed());
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
                trace: Some(span),
                router: Some(&core.router),
                config: &handle.config,
                logs: Some(&core.logs),
            },
        )
        .await
}

/// The reply, or a typed error when the result would not fit in one NATS
/// message (the caller would otherwise wait out its deadline).
fn fit_reply(
    core: &HostCore,
    id: uuid::Uuid,
    outcome: Result<Vec<u8>, InvocationError>,
) -> InvocationReply {
    let reply = |outcome: Result<Vec<u8>, InvocationError>| InvocationReply {
        v: ENVELOPE_VERSION,
        id,
        outcome: outcome.map(ByteBuf::from),
    };
    let max = core.max_payload();
    // Envelope framing is well under 1 KiB.
    match &outcome {
        Ok(bytes) if max > 0 && bytes.len() + 1024 > max => reply(Err(InvocationError::new(
            ErrorKind::Internal,
            format!(
                "the result is {} bytes, more than this NATS server's max payload of {max} bytes",
                bytes.len()
            ),
        ))),
        _ => reply(outcome),
    }
}
