//! Scatter-gather over the lattice's hosts: pings, auctions, inventories
//! (all of them, or for a name lookup, which ends once every host the
//! lattice counts has answered), each answer verified.

use std::time::{Duration, Instant};

use floe_wire::Subject;
use floe_wire::control::{
    self, AuctionBid, AuctionRequest, ControlReply, HostInfo, HostInventory, PingRequest, StringMap,
};
use floe_wire::subject::AuctionKind;
use futures::StreamExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{CtlClient, CtlError};

impl CtlClient {
    /// Every host that answers within `window`.
    pub async fn ping_hosts(&self, window: Duration) -> Result<Vec<HostInfo>, CtlError> {
        let mut hosts: Vec<HostInfo> = self
            .gather(Subject::HostPing, &PingRequest::default(), window)
            .await?;
        hosts.sort_by(|a, b| a.host_id.cmp(&b.host_id));
        Ok(hosts)
    }

    /// Bids of the hosts whose labels carry every constraint.
    pub async fn auction_actor(
        &self,
        constraints: StringMap,
        window: Duration,
    ) -> Result<Vec<AuctionBid>, CtlError> {
        self.auction(AuctionKind::Actor, constraints, window).await
    }

    /// Bids of the hosts that fit, for a provider.
    pub async fn auction_provider(
        &self,
        constraints: StringMap,
        window: Duration,
    ) -> Result<Vec<AuctionBid>, CtlError> {
        self.auction(AuctionKind::Provider, constraints, window)
            .await
    }

    async fn auction(
        &self,
        kind: AuctionKind,
        constraints: StringMap,
        window: Duration,
    ) -> Result<Vec<AuctionBid>, CtlError> {
        let req = AuctionRequest {
            constraints,
            ..AuctionRequest::default()
        };
        self.gather(Subject::Auction(kind), &req, window).await
    }

    /// Picks the bid with the fewest running actors, ties at random.
    pub fn pick(bids: &[AuctionBid]) -> Option<&AuctionBid> {
        let fewest = bids.iter().map(|b| b.running).min()?;
        let best: Vec<&AuctionBid> = bids.iter().filter(|b| b.running == fewest).collect();
        best.get(fastrand::usize(..best.len())).copied()
    }

    /// The inventory of every host that answers a ping within `window`.
    pub async fn inventories(&self, window: Duration) -> Result<Vec<HostInventory>, CtlError> {
        let hosts = self.ping_hosts(window).await?;
        self.inventories_of(&hosts).await
    }

    /// The inventories a name lookup needs: those of every host, asked for
    /// as soon as as many hosts have answered the ping as the hosts say the
    /// lattice has (the highest `lattice_hosts` among the answers), else
    /// when `window` ends. So a lookup on a settled lattice takes a round
    /// trip, not the whole window.
    pub async fn inventories_for_lookup(
        &self,
        window: Duration,
    ) -> Result<Vec<HostInventory>, CtlError> {
        let mut hosts: Vec<HostInfo> = self
            .gather_until(
                Subject::HostPing,
                &PingRequest::default(),
                window,
                |answers: &[HostInfo]| {
                    let known = answers.iter().map(|h| h.lattice_hosts).max().unwrap_or(0);
                    known > 0 && answers.len() >= known
                },
            )
            .await?;
        hosts.sort_by(|a, b| a.host_id.cmp(&b.host_id));
        self.inventories_of(&hosts).await
    }

    /// The inventories of `hosts` (those that answer; a host that does not
    /// is left out).
    pub async fn inventories_of(&self, hosts: &[HostInfo]) -> Result<Vec<HostInventory>, CtlError> {
        let requests = hosts.iter().map(|h| self.inventory(&h.host_id));
        let mut out = Vec::new();
        for result in futures::future::join_all(requests).await {
            match result {
                Ok(inv) => out.push(inv),
                // A host that stopped between ping and inventory, or that
                // speaks a newer protocol, is skipped like a silent one.
                Err(
                    CtlError::Timeout { .. } | CtlError::NotFound(_) | CtlError::Malformed { .. },
                ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn gather<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        subject: Subject,
        req: &Req,
        window: Duration,
    ) -> Result<Vec<Resp>, CtlError> {
        self.gather_until(subject, req, window, |_: &[Resp]| false)
            .await
    }

    /// Scatter-gather: every authentic answer within `window`, or fewer
    /// once `enough` says so.
    async fn gather_until<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        subject: Subject,
        req: &Req,
        window: Duration,
        enough: impl Fn(&[Resp]) -> bool,
    ) -> Result<Vec<Resp>, CtlError> {
        let subject = subject.render(&self.lattice);
        let fail = |reason: String| CtlError::Request {
            subject: subject.clone(),
            reason,
        };
        let body = serde_json::to_vec(req).map_err(|e| fail(e.to_string()))?;
        let inbox = self.nats.new_inbox();
        let mut replies = self
            .nats
            .subscribe(inbox.clone())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.auth
            .publish_with_reply(&self.nats, subject.clone(), inbox, body.into())
            .await
            .map_err(|e| fail(e.to_string()))?;
        tokio::time::timeout(window, self.nats.flush())
            .await
            .map_err(|_| fail("NATS did not acknowledge the request in time".to_owned()))?
            .map_err(|e| fail(e.to_string()))?;
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, replies.next()).await {
                Ok(Some(msg)) if self.auth.verify(&msg).is_err() => {
                    tracing_free_warn(&subject, "its lattice MAC does not verify");
                }
                Ok(Some(msg)) => match self
                    .reply_body(&subject, &msg.payload)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|body| {
                        control::parse::<ControlReply<Resp>>(&body).map_err(|e| e.message)
                    }) {
                    Ok(reply) => {
                        if let Ok(payload) = reply.into_result() {
                            out.push(payload);
                            if enough(&out) {
                                break;
                            }
                        }
                    }
                    Err(e) => tracing_free_warn(&subject, &e),
                },
                Ok(None) | Err(_) => break,
            }
        }
        Ok(out)
    }
}

/// A reply that does not parse is skipped; scatter-gather tolerates one bad
/// peer. (The CLI has no logger; stay quiet unless asked.)
fn tracing_free_warn(subject: &str, reason: &str) {
    if std::env::var_os("FLOE_DEBUG").is_some() {
        eprintln!("warning: skipping a reply on {subject}: {reason}");
    }
}
