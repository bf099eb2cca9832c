//! [`Requester`]: sealed request/reply. The request's MAC covers the subject
//! *and* the reply subject, so a captured request cannot be re-aimed to have
//! its answer sent elsewhere; the answer must be sealed for that inbox.
//!
//! async-nats picks a request's inbox itself, after the headers are built,
//! so this does what its request muxer does: one wildcard subscription on a
//! private inbox prefix per client, a token per request, and a table of
//! waiting requests that the subscription's task answers.
//!
//! Only an authentic answer ends a wait. Anyone who can publish on NATS can
//! send to an inbox, so the inbox task verifies each message *before* it
//! takes the waiting request from the table: garbage, a forgery or a replay
//! is dropped and counted, and the request keeps waiting for the authentic
//! answer until its deadline. Tokens are unpredictable (a keyed hash of a
//! counter), so only a party that saw the request can aim anything at its
//! inbox. A "no responders" status cannot be sealed (the NATS server sends
//! it): it only shortens the wait to [`NO_RESPONDERS_GRACE`], during which an
//! authentic answer still wins (docs/security.md, "Replies").

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Message, StatusCode};
use bytes::Bytes;
use futures::StreamExt as _;
use tokio::sync::{OnceCell, oneshot};

use crate::auth::LatticeAuth;

/// How long a request still waits for an authentic answer after a "no
/// responders" status. The NATS server sends that status only when nothing
/// subscribes to the subject, and then nothing that could answer saw the
/// request; a forged one comes from a subscriber that did, beside which a
/// real replica may be answering. So an actor that runs nowhere fails in
/// this time, and a forged status fails a call only if the real answer takes
/// longer than this.
pub const NO_RESPONDERS_GRACE: Duration = Duration::from_millis(250);

/// Why a sealed request got no authentic answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestFailure {
    #[error("no one answers on {0}")]
    NoResponders(String),
    #[error("no answer on {subject} within {waited:?}{}", rejected_note(*.rejected))]
    TimedOut {
        subject: String,
        waited: Duration,
        /// Answers that arrived but did not verify (sealed under another
        /// key, forged, replayed).
        rejected: u32,
    },
    #[error("request on {subject} failed: {reason}")]
    Nats { subject: String, reason: String },
}

fn rejected_note(rejected: u32) -> String {
    match rejected {
        0 => String::new(),
        n => format!(
            " ({n} answer{} did not verify: sealed under another cluster key, or forged)",
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// One waiting request.
#[derive(Debug)]
struct Waiter {
    answer: oneshot::Sender<Message>,
    /// Fired by the first "no responders" status.
    absent: Option<oneshot::Sender<()>>,
    rejected: Arc<AtomicU32>,
}

type Pending = Arc<Mutex<HashMap<u64, Waiter>>>;

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, HashMap<u64, Waiter>> {
    // Plain data: a panic elsewhere cannot leave it inconsistent.
    pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends sealed requests on one connection and verifies their answers.
#[derive(Debug)]
pub struct Requester {
    nats: async_nats::Client,
    auth: Arc<LatticeAuth>,
    inbox: OnceCell<Inbox>,
    next: AtomicU64,
    /// Keys the hash that turns the counter into unguessable tokens.
    tokens: std::collections::hash_map::RandomState,
    pub(crate) payloads: crate::payloads::PayloadStore,
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
            payloads: crate::payloads::PayloadStore::new(nats.clone(), auth.lattice().clone()),
            nats,
            auth,
            inbox: OnceCell::new(),
            next: AtomicU64::new(0),
            tokens: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Sets the largest payload a call may send or receive (default
    /// [`crate::payloads::DEFAULT_MAX_CALL_BYTES`]).
    pub fn with_max_call_bytes(mut self, limit: usize) -> Self {
        self.payloads = self.payloads.with_limit(limit);
        self
    }

    pub fn auth(&self) -> &Arc<LatticeAuth> {
        &self.auth
    }

    /// The lattice's payload store, as this requester reads it.
    pub fn payloads(&self) -> &crate::payloads::PayloadStore {
        &self.payloads
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    async fn inbox(&self, subject: &str) -> Result<&Inbox, RequestFailure> {
        self.inbox
            .get_or_try_init(|| async {
                let prefix = self.nats.new_inbox();
                let sub = self
                    .nats
                    .subscribe(format!("{prefix}.*"))
                    .await
                    .map_err(|e| RequestFailure::Nats {
                        subject: subject.to_owned(),
                        reason: format!("cannot subscribe to a reply inbox: {e}"),
                    })?;
                let pending: Pending = Arc::default();
                let task = tokio::spawn(deliver(sub, pending.clone(), self.auth.clone()));
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
        let (answer, mut answered) = oneshot::channel();
        let (absent, mut absence) = oneshot::channel();
        let rejected = Arc::new(AtomicU32::new(0));
        let token = {
            let mut pending = lock(&inbox.pending);
            let mut token;
            loop {
                token = self
                    .tokens
                    .hash_one(self.next.fetch_add(1, Ordering::Relaxed));
                if !pending.contains_key(&token) {
                    break;
                }
            }
            pending.insert(
                token,
                Waiter {
                    answer,
                    absent: Some(absent),
                    rejected: rejected.clone(),
                },
            );
            token
        };
        // However this ends — answered, timed out, failed, or the caller's
        // future dropped — the waiter leaves the table.
        let _forget = Forget {
            pending: &inbox.pending,
            token,
        };
        let reply = format!("{}.{token}", inbox.prefix);
        let headers = self.auth.headers(&subject, Some(&reply), &body);
        if let Err(e) = self
            .nats
            .publish_with_reply_and_headers(subject.clone(), reply, headers, body)
            .await
        {
            return Err(RequestFailure::Nats {
                subject,
                reason: e.to_string(),
            });
        }
        let now = tokio::time::Instant::now();
        let until = now.checked_add(timeout).unwrap_or(now + FAR_FUTURE);
        let wait = tokio::time::sleep_until(until);
        tokio::pin!(wait);
        let mut no_responders = false;
        loop {
            tokio::select! {
                biased;
                got = &mut answered => return got.map_err(|_| RequestFailure::Nats {
                    subject,
                    reason: "the reply inbox closed (connection lost?)".to_owned(),
                }),
                _ = &mut absence, if !no_responders => {
                    no_responders = true;
                    let grace = tokio::time::Instant::now() + NO_RESPONDERS_GRACE;
                    if grace < until {
                        wait.as_mut().reset(grace);
                    }
                }
                () = &mut wait => {
                    return Err(if no_responders {
                        RequestFailure::NoResponders(subject)
                    } else {
                        RequestFailure::TimedOut {
                            subject,
                            waited: timeout,
                            rejected: rejected.load(Ordering::Relaxed),
                        }
                    });
                }
            }
        }
    }
}

/// Stands in for "never" when a caller asks to wait longer than a clock can
/// count.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Removes one waiter from the table when dropped.
struct Forget<'a> {
    pending: &'a Pending,
    token: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        lock(self.pending).remove(&self.token);
    }
}

/// The inbox task: hands each authentic answer to its waiting request.
async fn deliver(mut sub: async_nats::Subscriber, pending: Pending, auth: Arc<LatticeAuth>) {
    while let Some(msg) = sub.next().await {
        let Some(token) = msg
            .subject
            .rsplit('.')
            .next()
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        if let Some(status) = msg.status {
            // Sent by the server, so never sealed: a hint, not an answer.
            if status == StatusCode::NO_RESPONDERS
                && let Some(waiter) = lock(&pending).get_mut(&token)
                && let Some(absent) = waiter.absent.take()
            {
                let _ = absent.send(());
            }
            continue;
        }
        let Some(rejected) = lock(&pending).get(&token).map(|w| w.rejected.clone()) else {
            // No request waits on this token (answered, timed out, or never
            // issued). Checked all the same, so a forgery that came late is
            // counted and logged like one that came first.
            let _ = auth.verify(&msg);
            continue;
        };
        if auth.verify(&msg).is_err() {
            // Counted and logged by `verify`; the request keeps waiting.
            rejected.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Some(waiter) = lock(&pending).remove(&token) {
            let _ = waiter.answer.send(msg);
        }
    }
}
