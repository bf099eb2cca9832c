//! [`Control`]: the control interface — `ctl.host.ping`, `ctl.auction.*`
//! and everything under `ctl.{host}.`. Each request is parsed into its
//! typed form here and answered `{accepted, error, code, …}`; a refusal
//! carries the stable code of its reason (docs/protocol.md, "Refusals").

use std::sync::Arc;

use floe_lattice::rpc::PayloadStore;
use floe_wire::ErrorKind;
use floe_wire::control::{
    self, AuctionBid, AuctionRequest, ControlCode, ControlReply, Empty, LabelDelRequest,
    LabelPutRequest, Labels, Refusal, SpilledReply, StopHostRequest,
};
use floe_wire::subject::AuctionKind;
use floe_wire::{HostOp, Subject};
use futures::StreamExt as _;
use serde::Serialize;

use crate::bus::{Bus, Unconfirmed};
use crate::lifecycle::Lifecycle;
use crate::providers::Providers;
use crate::status::Status;
use crate::tasks::Tasks;

/// Why the control interface could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot subscribe to {subject}: {reason}")]
    Subscribe { subject: String, reason: String },
    #[error("cannot serve the control subjects: {0}")]
    Unconfirmed(#[from] Unconfirmed),
}

/// Answers this host's control requests.
#[derive(Debug, Clone)]
pub struct Control {
    pub bus: Bus,
    pub tasks: Tasks,
    pub status: Status,
    pub lifecycle: Lifecycle,
    pub providers: Providers,
    /// Where a reply too large for one message waits for its reader.
    pub payloads: Arc<PayloadStore>,
}

impl Control {
    /// Subscribes the control subjects and spawns their loops.
    pub async fn serve(&self) -> Result<(), ControlError> {
        let subjects = [
            Subject::HostPing,
            Subject::Auction(AuctionKind::Actor),
            Subject::Auction(AuctionKind::Provider),
            Subject::HostAll {
                host: self.bus.host_id().to_owned(),
            },
        ];
        for subject in subjects {
            let rendered = self.bus.subject(&subject);
            let mut sub = self
                .bus
                .nats()
                .subscribe(rendered.clone())
                .await
                .map_err(|e| ControlError::Subscribe {
                    subject: rendered,
                    reason: e.to_string(),
                })?;
            let control = self.clone();
            self.tasks.spawn(async move {
                loop {
                    tokio::select! {
                        () = control.tasks.stopping() => return,
                        msg = sub.next() => match msg {
                            // Verified before a task is spawned for it; what
                            // fails is counted and logged by `verify`, and
                            // never answered (its reply subject is the
                            // sender's choice).
                            Some(msg) if control.bus.auth().verify(&msg).is_ok() => {
                                let answering = control.clone();
                                control.tasks.spawn(async move { answering.handle(msg).await });
                            }
                            Some(_) => {}
                            None => return,
                        },
                    }
                }
            });
        }
        self.bus.flush().await?;
        Ok(())
    }

    async fn handle(&self, msg: async_nats::Message) {
        let Some(reply_to) = msg.reply.clone() else {
            return;
        };
        let Some(body) = self.respond(&msg).await else {
            return;
        };
        let body = self.spill_if_large(body).await;
        if let Err(e) = self.bus.send(reply_to.to_string(), body).await {
            tracing::warn!(subject = %msg.subject, error = %e, "cannot send control reply");
        }
    }

    /// `body` itself when it fits one NATS message, else a
    /// [`SpilledReply`] naming where it waits (an inventory of thousands
    /// of actors is megabytes).
    async fn spill_if_large(&self, body: Vec<u8>) -> Vec<u8> {
        if !self.payloads.must_spill(body.len()) {
            return body;
        }
        let object = format!("control-{}", uuid::Uuid::new_v4().simple());
        match self.payloads.put(object, &body, ErrorKind::Internal).await {
            Ok(spilled) => json(&SpilledReply::new(spilled)),
            Err(e) => refused(Refusal::new(
                ControlCode::Internal,
                format!(
                    "the reply is {} bytes, more than one message holds, and the payload store did not take it: {}",
                    body.len(),
                    e.message
                ),
            )),
        }
    }

    /// The reply body, or `None` when this host stays silent (an auction it
    /// does not fit).
    async fn respond(&self, msg: &async_nats::Message) -> Option<Vec<u8>> {
        let payload = &msg.payload[..];
        let subject = match Subject::parse(self.bus.lattice(), &msg.subject) {
            Ok(s) => s,
            Err(e) => {
                return Some(refused(Refusal::new(
                    ControlCode::BadRequest,
                    e.to_string(),
                )));
            }
        };
        if let Err(e) = control::check_version(payload) {
            return Some(refused(e));
        }
        match subject {
            Subject::HostPing => Some(json(&ControlReply::ok(self.status.info()))),
            Subject::Auction(kind) => self.bid(kind, payload),
            Subject::Host { host, op } if host == self.bus.host_id() => {
                Some(self.dispatch(op, payload).await)
            }
            other => Some(refused(Refusal::new(
                ControlCode::BadRequest,
                format!("this host does not answer {other}"),
            ))),
        }
    }

    /// A bid when this host fits the auction's constraints.
    fn bid(&self, kind: AuctionKind, payload: &[u8]) -> Option<Vec<u8>> {
        let req: AuctionRequest = match control::parse(payload) {
            Ok(r) => r,
            Err(e) => return Some(refused(e)),
        };
        let labels = self.status.labels();
        let fits = req
            .constraints
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        fits.then(|| {
            json(&ControlReply::ok(AuctionBid {
                host_id: self.bus.host_id().to_owned(),
                labels,
                running: match kind {
                    AuctionKind::Actor => self.status.actors.len(),
                    AuctionKind::Provider => self.status.providers.len(),
                },
            }))
        })
    }

    async fn dispatch(&self, op: HostOp, payload: &[u8]) -> Vec<u8> {
        tracing::debug!(op = op.tokens(), "control request");
        let (lifecycle, providers) = (&self.lifecycle, &self.providers);
        match op {
            HostOp::ActorStart => reply(run(payload, |r| lifecycle.start(r)).await),
            HostOp::ActorStop => reply(run(payload, |r| lifecycle.stop(r)).await),
            HostOp::ActorScale => reply(run(payload, |r| lifecycle.scale(r)).await),
            HostOp::ActorUpdate => reply(run(payload, |r| lifecycle.update(r)).await),
            HostOp::ProviderStart => reply(run(payload, |r| providers.start(r)).await),
            HostOp::ProviderStop => reply(run(payload, |r| providers.stop(r)).await),
            HostOp::Inventory => json(&ControlReply::ok(self.status.inventory())),
            HostOp::Stop => reply(
                run(payload, |_: StopHostRequest| async move {
                    tracing::info!("stop requested over the control interface");
                    self.tasks.stop();
                    Ok::<_, Refusal>(Empty {})
                })
                .await,
            ),
            HostOp::LabelPut => reply(
                run(payload, |r: LabelPutRequest| async move {
                    if r.key.trim().is_empty() || r.key.contains(char::is_whitespace) {
                        return Err(Refusal::new(
                            ControlCode::BadRequest,
                            format!("`{}` is not a valid label key", r.key),
                        ));
                    }
                    Ok(Labels {
                        labels: self.status.update_labels(|l| {
                            l.insert(r.key, r.value);
                        }),
                    })
                })
                .await,
            ),
            HostOp::LabelDel => reply(
                run(payload, |r: LabelDelRequest| async move {
                    Ok::<_, Refusal>(Labels {
                        labels: self.status.update_labels(|l| {
                            l.remove(&r.key);
                        }),
                    })
                })
                .await,
            ),
        }
    }
}

/// Parses the request, then runs `f` on it.
async fn run<Req, Resp, E, Fut>(payload: &[u8], f: impl FnOnce(Req) -> Fut) -> Result<Resp, Refusal>
where
    Req: serde::de::DeserializeOwned,
    E: Into<Refusal>,
    Fut: std::future::Future<Output = Result<Resp, E>>,
{
    let req = control::parse::<Req>(payload).inspect_err(|e| tracing::warn!("{e}"))?;
    f(req).await.map_err(Into::into)
}

fn reply<T: Serialize>(result: Result<T, Refusal>) -> Vec<u8> {
    match result {
        Ok(payload) => json(&ControlReply::ok(payload)),
        Err(e) => refused(e),
    }
}

fn refused(refusal: Refusal) -> Vec<u8> {
    json(&ControlReply::<Empty>::refused(refusal))
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        format!(r#"{{"accepted":false,"error":"cannot encode reply: {e}","code":"internal"}}"#)
            .into_bytes()
    })
}
