//! The calling half of the invocation path: [`Requester::invoke`] seals an
//! envelope to `rpc.{target}`, sends its payload through the payload store
//! when it is too large for one message, waits for the authentic reply
//! (`request`), checks that it answers this invocation, and takes a large
//! result from the store. Hosts (routed imports), providers and the CLI all
//! call through it.

use std::time::Duration;

use floe_wire::{Answer, Envelope, ErrorKind, InvocationError, InvocationReply, Subject};

use crate::request::{RequestFailure, Requester};

impl Requester {
    /// Sends `envelope` to `rpc.{target}` and returns the reply's outcome,
    /// waiting at most `wait`. Failures of the transport become typed
    /// errors naming the target; a reply to another invocation is refused.
    pub async fn invoke(
        &self,
        envelope: Envelope,
        wait: Duration,
    ) -> Result<Vec<u8>, InvocationError> {
        self.invoke_answer(envelope, wait).await.map(|a| a.bytes)
    }

    /// As [`invoke`](Self::invoke), with whether the result is the `err`
    /// case of a function returning `result`.
    pub async fn invoke_answer(
        &self,
        mut envelope: Envelope,
        wait: Duration,
    ) -> Result<Answer, InvocationError> {
        let target = envelope.target.clone();
        let started = tokio::time::Instant::now();
        if self.payloads.must_spill(envelope.payload.len()) {
            let object = format!("{}.call", envelope.id.simple());
            let payload = std::mem::take(&mut envelope.payload);
            // Boxed (as every rare path here): the store's futures are large.
            let put = Box::pin(self.payloads.put(object, &payload, ErrorKind::BadArguments));
            let reference = tokio::time::timeout(wait, put)
                .await
                .map_err(|_| timed_out(&target, wait))??;
            envelope.payload_ref = Some(reference);
            envelope.v = floe_wire::envelope::ENVELOPE_VERSION;
            // The upload took part of the time: the callee gets what is left.
            let left = wait.saturating_sub(started.elapsed());
            envelope.deadline_ms = envelope
                .deadline_ms
                .min(u32::try_from(left.as_millis()).unwrap_or(u32::MAX))
                .max(1);
        }
        let sent = envelope.payload_ref.clone();
        let outcome = self.exchange(&envelope, &target, wait, started).await;
        if let (Err(_), Some(reference)) = (&outcome, &sent) {
            // Refused, unanswered or given up: no one will take it now (a
            // callee that did has removed it already).
            Box::pin(self.payloads.discard(reference)).await;
        }
        outcome
    }

    /// Sends the (possibly spilled) envelope and takes its result.
    async fn exchange(
        &self,
        envelope: &Envelope,
        target: &str,
        wait: Duration,
        started: tokio::time::Instant,
    ) -> Result<Answer, InvocationError> {
        let bytes = envelope
            .encode()
            .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()))?;
        let subject = Subject::Rpc {
            entity: target.to_owned(),
        }
        .render(self.auth().lattice());
        let left = wait.saturating_sub(started.elapsed());
        let reply = self
            .request(subject, bytes.into(), left)
            .await
            .map_err(|e| match e {
                RequestFailure::NoResponders(_) => InvocationError::new(
                    ErrorKind::NotFound,
                    format!("nothing on the lattice runs {target} (see `floe get inventory`)"),
                ),
                RequestFailure::TimedOut { .. } => InvocationError::new(
                    ErrorKind::TimedOut,
                    format!(
                        "{target} did not answer within {} ms: {e}",
                        wait.as_millis()
                    ),
                ),
                RequestFailure::Nats { reason, .. } => {
                    InvocationError::new(ErrorKind::Internal, reason)
                }
            })?;
        let reply = InvocationReply::decode(&reply.payload).map_err(|e| {
            InvocationError::new(
                ErrorKind::Internal,
                format!("malformed reply from {target}: {e}"),
            )
        })?;
        if reply.id != envelope.id {
            return Err(InvocationError::new(
                ErrorKind::Internal,
                format!("{target} answered another invocation ({})", reply.id),
            ));
        }
        let err_case = reply.err_case;
        let result = reply.outcome?.into_vec();
        match reply.payload_ref {
            None => Ok(Answer {
                bytes: result,
                err_case,
            }),
            Some(reference) => {
                let left = wait.saturating_sub(started.elapsed());
                let take = Box::pin(self.payloads.take(&reference));
                match tokio::time::timeout(left, take).await {
                    Ok(taken) => taken.map(|bytes| Answer { bytes, err_case }),
                    Err(_) => {
                        Box::pin(self.payloads.discard(&reference)).await;
                        Err(timed_out(target, wait))
                    }
                }
            }
        }
    }
}

fn timed_out(target: &str, wait: Duration) -> InvocationError {
    InvocationError::new(
        ErrorKind::TimedOut,
        format!(
            "the call of {target} did not finish within {} ms",
            wait.as_millis()
        ),
    )
}
