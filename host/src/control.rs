//! The control interface: `ctl.host.ping`, `ctl.auction.actor` and
//! everything under `ctl.{host}.`. Each request is parsed into its typed
//! form here and answered `{accepted, error, …}`; a malformed one gets an
//! error reply and a log line.

use std::sync::Arc;

use floe_wire::control::{
    self, AuctionBid, AuctionRequest, ControlReply, Empty, HostInventory, LabelDelRequest,
    LabelPutRequest, Labels, StopHostRequest,
};
use floe_wire::subject::AuctionKind;
use floe_wire::{HostOp, Subject};
use futures::StreamExt as _;
use serde::Serialize;

use crate::host::{HostCore, HostError};
use crate::lifecycle;

/// Subscribes the control subjects and spawns their loops.
pub async fn serve(core: &Arc<HostCore>) -> Result<(), HostError> {
    let subjects = [
        Subject::HostPing,
        Subject::Auction(AuctionKind::Actor),
        Subject::Auction(AuctionKind::Provider),
        Subject::HostAll {
            host: core.id.clone(),
        },
    ];
    for subject in subjects {
        let rendered = subject.render(&core.lattice);
        let mut sub =
            core.nats
                .subscribe(rendered.clone())
                .await
                .map_err(|e| HostError::Subscribe {
                    subject: rendered.clone(),
                    reason: e.to_string(),
                })?;
        let core2 = core.clone();
        core.tracker.spawn(async move {
            loop {
                tokio::select! {
                    _ = core2.shutdown.cancelled() => return,
                    msg = sub.next() => match msg {
                        // Verified before a task is spawned for it; what fails
                        // is counted and logged by `verify`, and never answered
                        // (its reply subject is the sender's choice).
                        Some(msg) if core2.auth.verify(&msg).is_ok() => {
                            core2.tracker.spawn(handle(core2.clone(), msg));
                        }
                        Some(_) => {}
                        None => return,
                    },
                }
            }
        });
    }
    let flushed = tokio::time::timeout(crate::rpc::FLUSH_TIMEOUT, core.nats.flush()).await;
    if !matches!(flushed, Ok(Ok(()))) {
        return Err(HostError::Subscribe {
            subject: "the control subjects".to_owned(),
            reason: "NATS did not confirm the subscriptions".to_owned(),
        });
    }
    Ok(())
}

async fn handle(core: Arc<HostCore>, msg: async_nats::Message) {
    let Some(reply_to) = msg.reply.clone() else {
        return;
    };
    let Some(body) = respond(&core, &msg).await else {
        return;
    };
    if let Err(e) = core
        .auth
        .publish(&core.nats, reply_to.to_string(), body.into())
        .await
    {
        tracing::warn!(subject = %msg.subject, error = %e, "cannot send control reply");
    }
}

/// The reply body, or `None` when this host stays silent (an auction it
/// does not fit).
async fn respond(core: &Arc<HostCore>, msg: &async_nats::Message) -> Option<Vec<u8>> {
    let payload = &msg.payload[..];
    let subject = match Subject::parse(&core.lattice, &msg.subject) {
        Ok(s) => s,
        Err(e) => return Some(json(&ControlReply::<Empty>::refused(e.to_string()))),
    };
    if let Err(e) = control::check_version(payload) {
        return Some(json(&ControlReply::<Empty>::refused(e)));
    }
    match subject {
        Subject::HostPing => Some(json(&ControlReply::ok(core.info()))),
        Subject::Auction(kind) => {
            let req: AuctionRequest = match control::parse(payload) {
                Ok(r) => r,
                Err(e) => return Some(json(&ControlReply::<Empty>::refused(e))),
            };
            let labels = core.labels();
            let fits = req
                .constraints
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v));
            fits.then(|| {
                json(&ControlReply::ok(AuctionBid {
                    host_id: core.id.clone(),
                    labels,
                    running: match kind {
                        AuctionKind::Actor => core.actors.len(),
                        AuctionKind::Provider => core.providers.len(),
                    },
                }))
            })
        }
        Subject::Host { host, op } if host == core.id => Some(dispatch(core, op, payload).await),
        other => Some(json(&ControlReply::<Empty>::refused(format!(
            "this host does not answer {other}"
        )))),
    }
}

async fn dispatch(core: &Arc<HostCore>, op: HostOp, payload: &[u8]) -> Vec<u8> {
    tracing::debug!(op = op.tokens(), "control request");
    match op {
        HostOp::ActorStart => reply(run(payload, |r| lifecycle::start(core, r)).await),
        HostOp::ActorStop => reply(run(payload, |r| lifecycle::stop(core, r)).await),
        HostOp::ActorScale => reply(run(payload, |r| lifecycle::scale(core, r)).await),
        HostOp::ActorUpdate => reply(run(payload, |r| lifecycle::update(core, r)).await),
        HostOp::ProviderStart => reply(run(payload, |r| crate::providers::start(core, r)).await),
        HostOp::ProviderStop => reply(run(payload, |r| crate::providers::stop(core, r)).await),
        HostOp::Inventory => reply(Ok(HostInventory {
            host: core.info(),
            actors: core.actors.all().iter().map(|a| a.describe()).collect(),
            providers: core.providers.all().iter().map(|p| p.describe()).collect(),
        })),
        HostOp::Stop => reply(
            run(payload, |_: StopHostRequest| async move {
                tracing::info!("stop requested over the control interface");
                core.shutdown.cancel();
                Ok(Empty {})
            })
            .await,
        ),
        HostOp::LabelPut => reply(
            run(payload, |r: LabelPutRequest| async move {
                if r.key.trim().is_empty() || r.key.contains(char::is_whitespace) {
                    return Err(format!("`{}` is not a valid label key", r.key));
                }
                Ok(Labels {
                    labels: core.update_labels(|l| {
                        l.insert(r.key, r.value);
                    }),
                })
            })
            .await,
        ),
        HostOp::LabelDel => reply(
            run(payload, |r: LabelDelRequest| async move {
                Ok(Labels {
                    labels: core.update_labels(|l| {
                        l.remove(&r.key);
                    }),
                })
            })
            .await,
        ),
    }
}

/// Parses the request, then runs `f` on it.
async fn run<Req, Resp, Fut>(payload: &[u8], f: impl FnOnce(Req) -> Fut) -> Result<Resp, String>
where
    Req: serde::de::DeserializeOwned,
    Fut: std::future::Future<Output = Result<Resp, String>>,
{
    let req = control::parse::<Req>(payload).inspect_err(|e| tracing::warn!("{e}"))?;
    f(req).await
}

fn reply<T: Serialize>(result: Result<T, String>) -> Vec<u8> {
    match result {
        Ok(payload) => json(&ControlReply::ok(payload)),
        Err(e) => json(&ControlReply::<Empty>::refused(e)),
    }
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        format!(r#"{{"accepted":false,"error":"cannot encode reply: {e}"}}"#).into_bytes()
    })
}
