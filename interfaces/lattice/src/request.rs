//! [`Requester`]: sealed request/reply. The request's MAC covers the subject
//! *and* the reply subject, so a captured request cannot be re-aimed to have
//! its answer sent elsewhere; the answer must be sealed for that inbox.
//!
//! async-nats picks a request's inbox itself, after the headers are built,
//! so this does what its request muxer does: one wildcard subscription on a
//! private inbox prefix per client, a token per request, and a table of
//! waiting requests that the subscription's task answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Message, StatusCode};
use bytes::Bytes;
use floe_wire::auth::AuthError;
use floe_wire::envelope::ENVELOPE_VERSION;
use floe_wire::{Envelope, ErrorKind, InvocationError, InvocationReply, Subject};
use futures::StreamExt as _;
use tokio::sync::{OnceCell, oneshot};

use crate::auth::LatticeAuth;

/// Why a sealed request got no authentic answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestFailure {
    #[error("no one answers on {0}")]
    NoResponders(String),
    #[error("no answer on {subject} within {waited:?}")]
    TimedOut { subject: String, waited: Duration },
    #[error("request on {subject} failed: {reason}")]
    Nats { subject: String, reason: String },
    #[error("the answer on {subject} was refused: {source}")]
    Unauthorized { subject: String, source: AuthError },
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Message>>>>;

/// Sends sealed requests on one connection and verifies their answers.
#[derive(Debug)]
pub struct Requester {
    nats: async_nats::Client,
    auth: Arc<LatticeAuth>,
    inbox: OnceCell<Inbox>,
    next: AtomicU64,
}

#[derive(Debug)]
struct Inbox {
    prefix: String,
    pending: Pending,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Requester {
    pub fn new(nats: async_nats::Client, auth: Arc<LatticeAuth>) -> Self {
        Requester {
            nats,
            auth,
            inbox: OnceCell::new(),
            next: AtomicU64::new(0),
        }
    }

    pub fn auth(&self) -> &Arc<LatticeAuth> {
        &self.auth
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    async fn inbox(&self, subject: &str) -> Result<&Inbox, RequestFailure> {
        self.inbox
            .get_or_try_init(|| async {
                let prefix = self.nats.new_inbox();
                let mut sub = self
                    .nats
                    .subscribe(format!("{prefix}.*"))
                    .await
                    .map_err(|e| RequestFailure::Nats {
                        subject: subject.to_owned(),
                        reason: format!("cannot subscribe to a reply inbox: {e}"),
                    })?;
                let pending: Pending = Arc::default();
                let table = pending.clone();
                let task = tokio::spawn(async move {
                    while let Some(msg) = sub.next().await {
                        let token = msg
                            .subject
                            .rsplit('.')
                            .next()
                            .and_then(|t| t.parse::<u64>().ok());
                        let waiter = token.and_then(|t| {
                            table
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .remove(&t)
                        });
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(msg);
                        }
                    }
                });
                Ok(Inbox {
                    prefix,
                    pending,
                    task,
                })
            })
            .await
    }

    /// Sends `body` to `subject`, sealed, and waits up to `timeout` for an
    /// answer sealed for this request's inbox.
    pub async fn request(
        &self,
        subject: String,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Message, RequestFailure> {
        let inbox = self.inbox(&subject).await?;
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let reply = format!("{}.{token}", inbox.prefix);
        let (sender, receiver) = oneshot::channel();
        let forget = || {
            inbox
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&token);
        };
        inbox
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token, sender);
        let headers = self.auth.headers(&subject, Some(&reply), &body);
        if let Err(e) = self
            .nats
            .publish_with_reply_and_headers(subject.clone(), reply, headers, body)
            .await
        {
            forget();
            return Err(RequestFailure::Nats {
                subject,
                reason: e.to_string(),
            });
        }
        let answer = match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(msg)) => msg,
            Ok(Err(_)) => {
                return Err(RequestFailure::Nats {
                    subject,
                    reason: "the reply inbox closed (connection lost?)".to_owned(),
                });
            }
            Err(_) => {
                forget();
                return Err(RequestFailure::TimedOut {
                    subject,
                    waited: timeout,
                });
            }
        };
        if answer.status == Some(StatusCode::NO_RESPONDERS) {
            return Err(RequestFailure::NoResponders(subject));
        }
        self.auth
            .verify(&answer)
            .map_err(|source| RequestFailure::Unauthorized { subject, source })?;
        Ok(answer)
    }
}

impl Requester {
    /// Sends `envelope` to `rpc.{target}` and returns the reply's outcome,
    /// waiting at most `wait`. Failures of the transport become typed
    /// errors naming the target; a reply to another invocation is refused.
    pub async fn invoke(
        &self,
        envelope: &Envelope,
        wait: Duration,
    ) -> Result<Vec<u8>, InvocationError> {
        let target = &envelope.target;
        let bytes = envelope
            .encode()
            .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()))?;
        let subject = Subject::Rpc {
            entity: target.clone(),
        }
        .render(self.auth.lattice());
        let reply = self
            .request(subject, bytes.into(), wait)
            .await
            .map_err(|e| match e {
                RequestFailure::NoResponders(_) => InvocationError::new(
                    ErrorKind::NotFound,
                    format!("nothing on the lattice runs {target}"),
                ),
                RequestFailure::TimedOut { waited, .. } => InvocationError::new(
                    ErrorKind::TimedOut,
                    format!("{target} did not answer within {} ms", waited.as_millis()),
                ),
                RequestFailure::Unauthorized { source, .. } => InvocationError::new(
                    ErrorKind::Unauthorized,
                    format!("the reply from {target} was refused: {source}"),
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
        reply.outcome.map(serde_bytes::ByteBuf::into_vec)
    }
}

/// Answers a request that failed authentication: unsealed (nothing is
/// vouched for a stranger), and only to a request inbox — the reply subject
/// of an unauthenticated message is the sender's choice, and a Floe process
/// must not publish on other subjects at its bidding (docs/security.md).
pub async fn refuse_unsealed(client: &async_nats::Client, reply_to: &str, body: Vec<u8>) {
    if !reply_to.starts_with("_INBOX.") {
        return;
    }
    if let Err(e) = client.publish(reply_to.to_owned(), body.into()).await {
        tracing::debug!(error = %e, "cannot send a refusal");
    }
}

/// The refusal of an invocation that failed authentication.
pub fn unauthorized_reply(e: &AuthError) -> Vec<u8> {
    InvocationReply {
        v: ENVELOPE_VERSION,
        id: uuid::Uuid::nil(),
        outcome: Err(InvocationError::new(
            ErrorKind::Unauthorized,
            format!("refused: {e}"),
        )),
    }
    .encode()
    .unwrap_or_default()
}
