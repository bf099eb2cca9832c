//! [`HostViews`]: the leader's picture of the live hosts between passes —
//! each host's last inventory with the heartbeat digest it was read under,
//! the hosts acted on since (read again whatever their heartbeat says), and
//! each actor's load. A refresh asks only the hosts whose digest changed
//! for their inventory, so a pass costs what changed, not how many hosts
//! there are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use floe_ctl::CtlClient;
use floe_wire::events::ActorLoad;

use crate::hosts::{self, HostTracker};
use crate::plan::HostView;

#[derive(Debug, Default)]
pub struct HostViews {
    /// Host → (the digest its inventory was read under, the inventory).
    last: BTreeMap<String, (String, HostView)>,
    /// Hosts acted on since their inventory was read.
    stale: Mutex<BTreeSet<String>>,
    /// Each actor's load over the live hosts, from their last heartbeats.
    pub loads: BTreeMap<String, ActorLoad>,
}

/// What a refresh found.
#[derive(Debug)]
pub struct Refreshed {
    /// Hosts silent for longer than the grace (announce them once).
    pub lost: Vec<(String, Duration)>,
    /// Every live host and what it runs; `None` before every host could be
    /// heard, or when a live host never read does not answer (nothing is
    /// decided on a partial view).
    pub views: Option<Vec<HostView>>,
}

impl HostViews {
    /// Forgets everything (the lease was lost).
    pub fn clear(&mut self) {
        self.last.clear();
        self.stale_hosts().clear();
        self.loads.clear();
    }

    /// `host` is being acted on: read it again next refresh.
    pub fn mark_stale(&self, host: &str) {
        self.stale_hosts().insert(host.to_owned());
    }

    fn stale_hosts(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.stale
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub async fn refresh(&mut self, tracker: &Mutex<HostTracker>, client: &CtlClient) -> Refreshed {
        let (lost, alive, warmed_up) = {
            let mut tracker = hosts::lock(tracker);
            let lost = tracker.take_lost();
            let alive: Vec<(String, String)> = tracker
                .alive()
                .into_iter()
                .map(|id| {
                    let digest = tracker.digest(&id).to_owned();
                    (id, digest)
                })
                .collect();
            self.loads = tracker.loads();
            (lost, alive, tracker.warmed_up())
        };
        if !warmed_up {
            // Hosts not heard yet may run things: decide nothing before.
            return Refreshed { lost, views: None };
        }
        self.last
            .retain(|id, _| alive.iter().any(|(alive, _)| alive == id));
        self.stale_hosts()
            .retain(|id| alive.iter().any(|(alive, _)| alive == id));
        let stale = self.stale_hosts().clone();
        let changed: Vec<&(String, String)> = alive
            .iter()
            .filter(|(id, digest)| {
                digest.is_empty()
                    || stale.contains(id)
                    || self.last.get(id).is_none_or(|(read, _)| read != digest)
            })
            .collect();
        let inventories =
            futures::future::join_all(changed.iter().map(|(id, _)| client.inventory(id))).await;
        for ((host_id, digest), inventory) in changed.into_iter().zip(inventories) {
            match inventory {
                Ok(inv) => {
                    self.stale_hosts().remove(host_id);
                    let view = HostView {
                        host_id: inv.host.host_id.clone(),
                        labels: inv.host.labels.clone(),
                        actors: inv.actors,
                        providers: inv.providers,
                    };
                    self.last.insert(host_id.clone(), (digest.clone(), view));
                }
                // A live host that did not answer counts with what it last
                // reported, unless it was acted on since (that view is known
                // to be old); with nothing known of it, wait.
                Err(e) if self.last.contains_key(host_id) && !stale.contains(host_id) => {
                    tracing::debug!(host = %host_id, "no inventory, using the last one: {e}");
                }
                Err(e) => {
                    tracing::debug!(host = %host_id, "waiting for a silent host to answer or be lost: {e}");
                    return Refreshed { lost, views: None };
                }
            }
        }
        let views = self.last.values().map(|(_, view)| view.clone()).collect();
        Refreshed {
            lost,
            views: Some(views),
        }
    }
}
