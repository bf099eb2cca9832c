//! One pass of the leader: announce lost hosts, see the live ones and what
//! they run, then for every app plan and act, write its status and announce
//! a change of state; remove what apps without entries still own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use floe_ctl::CtlClient;
use floe_lattice::LatticeAuth;
use floe_lattice::apps;
use floe_lattice::records::Record;
use floe_wire::EventType;
use floe_wire::Link;
use floe_wire::app::{AppHead, AppState, AppStatus};
use serde_json::json;

use crate::hosts::{self, HostTracker};
use crate::plan::{self, Action, HostView};
use crate::{EventSink, ReconcilerConfig, act};

/// The leader's memory between passes (lost with the lease: a new leader
/// starts from what the lattice shows).
pub struct Leader {
    client: CtlClient,
    auth: Arc<LatticeAuth>,
    host_id: String,
    events: Arc<dyn EventSink>,
    leading: Arc<AtomicBool>,
    bucket: Option<kv::Store>,
    /// Per app: the version whose rollout stopped, and why, by component.
    stalled: BTreeMap<String, (u64, BTreeMap<String, String>)>,
    /// Per app: the status last written.
    written: BTreeMap<String, AppStatus>,
    was_leading: bool,
    passes: u64,
}

impl std::fmt::Debug for Leader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leader")
            .field("host_id", &self.host_id)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Leader {
    pub fn new(
        nats: async_nats::Client,
        auth: Arc<LatticeAuth>,
        host_id: String,
        events: Arc<dyn EventSink>,
        leading: Arc<AtomicBool>,
    ) -> Self {
        Leader {
            client: CtlClient::from_client(nats, auth.clone(), Duration::from_secs(5)),
            auth,
            host_id,
            events,
            leading,
            bucket: None,
            stalled: BTreeMap::new(),
            written: BTreeMap::new(),
            was_leading: false,
            passes: 0,
        }
    }

    fn leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Not leading: forget what only a leader keeps.
    pub fn follow(&mut self) {
        if self.was_leading {
            self.stalled.clear();
            self.written.clear();
            self.was_leading = false;
        }
    }

    pub async fn pass(&mut self, tracker: &Mutex<HostTracker>, config: &ReconcilerConfig) {
        self.was_leading = true;
        self.passes = self.passes.wrapping_add(1);
        let bucket = match &self.bucket {
            Some(b) => b.clone(),
            None => {
                match floe_lattice::open_bucket(self.client.nats(), self.client.lattice()).await {
                    Ok(b) => {
                        self.bucket = Some(b.clone());
                        b
                    }
                    Err(e) => {
                        tracing::warn!("reconciler: {e}");
                        return;
                    }
                }
            }
        };
        let heads = match apps::heads(&bucket, &self.auth).await {
            Ok(heads) => heads,
            Err(e) => {
                tracing::warn!("reconciler: cannot read the apps: {e}");
                return;
            }
        };
        // With no app, look for leftovers only now and then.
        if heads.is_empty() && self.passes % 10 != 1 {
            return;
        }
        let Some(views) = self.observe(tracker, config).await else {
            return;
        };
        let links = match self.client.links().await {
            Ok(links) => links,
            Err(e) => {
                tracing::warn!("reconciler: cannot read the links: {e}");
                return;
            }
        };
        let names: BTreeSet<String> = heads.iter().map(|h| h.value.name.clone()).collect();
        for head in heads {
            if !self.leading() {
                return;
            }
            self.reconcile(&bucket, head, &views, &links).await;
        }
        // What apps without entries still own (an app forgotten mid-way).
        for orphan in plan::owners(&views, &links).difference(&names) {
            for action in plan::plan_removal(orphan, &views, &links) {
                if !self.leading() {
                    return;
                }
                self.run(&action).await.ok();
            }
        }
    }

    /// The live hosts and what they run; `None` when a host that may be
    /// alive did not answer (nothing is decided on a partial view).
    async fn observe(
        &mut self,
        tracker: &Mutex<HostTracker>,
        config: &ReconcilerConfig,
    ) -> Option<Vec<HostView>> {
        let pinged = match self.client.ping_hosts(config.ping_window).await {
            Ok(hosts) => hosts,
            Err(e) => {
                tracing::warn!("reconciler: cannot ping the hosts: {e}");
                return None;
            }
        };
        let (lost, alive) = {
            let mut tracker = hosts::lock(tracker);
            for host in &pinged {
                tracker.seen(&host.host_id);
            }
            (tracker.take_lost(), tracker.alive())
        };
        for (host_id, silent) in lost {
            tracing::warn!(host = %host_id, ?silent, "host lost: no heartbeat");
            self.events
                .publish(
                    EventType::HostLost,
                    json!({ "host_id": host_id, "silent_ms": silent.as_millis() as u64 }),
                )
                .await;
        }
        let answered: BTreeSet<&str> = pinged.iter().map(|h| h.host_id.as_str()).collect();
        if let Some(silent) = alive.into_iter().find(|h| !answered.contains(h.as_str())) {
            tracing::debug!(host = %silent, "waiting for a silent host to answer or be lost");
            return None;
        }
        let inventories =
            futures::future::join_all(pinged.iter().map(|h| self.client.inventory(&h.host_id)))
                .await;
        let mut views = Vec::with_capacity(inventories.len());
        for inventory in inventories {
            match inventory {
                Ok(inv) => views.push(HostView {
                    host_id: inv.host.host_id.clone(),
                    labels: inv.host.labels.clone(),
                    actors: inv.actors,
                    providers: inv.providers,
                }),
                Err(e) => {
                    tracing::debug!("reconciler: an inventory did not come: {e}");
                    return None;
                }
            }
        }
        Some(views)
    }

    async fn run(&self, action: &Action) -> Result<(), String> {
        let what = act::describe(action);
        match act::act(&self.client, action).await {
            Ok(()) => {
                tracing::info!("reconciler: {what}");
                Ok(())
            }
            Err(reason) => {
                tracing::warn!("reconciler: {what} failed: {reason}");
                Err(format!("{what}: {reason}"))
            }
        }
    }

    async fn reconcile(
        &mut self,
        bucket: &kv::Store,
        head: Record<AppHead>,
        views: &[HostView],
        links: &[Link],
    ) {
        let name = head.value.name.clone();
        if head.value.deleting {
            let actions = plan::plan_removal(&name, views, links);
            if actions.is_empty() {
                if let Err(e) = apps::forget(bucket, &self.auth, &name).await {
                    tracing::warn!(app = %name, "cannot forget a deleted app: {e}");
                    return;
                }
                self.written.remove(&name);
                self.stalled.remove(&name);
                self.events
                    .publish(EventType::AppDeleted, json!({ "name": name }))
                    .await;
                return;
            }
            for action in &actions {
                if !self.leading() {
                    return;
                }
                self.run(action).await.ok();
            }
            let status = AppStatus {
                name: name.clone(),
                seq: head.value.seq,
                version: String::new(),
                state: AppState::Deleting,
                missing: vec![format!("{} things left to remove", actions.len())],
                reason: None,
                leader: self.host_id.clone(),
                updated_at_ms: now_ms(),
            };
            self.write(bucket, status).await;
            return;
        }
        let version = match apps::current(bucket, &self.auth, &name).await {
            Ok((_, version)) => version,
            Err(e) => {
                tracing::warn!(app = %name, "reconciler: {e}");
                return;
            }
        };
        let stalled = self
            .stalled
            .entry(name.clone())
            .or_insert_with(|| (version.seq, BTreeMap::new()));
        if stalled.0 != version.seq {
            *stalled = (version.seq, BTreeMap::new());
        }
        let plan = plan::plan_app(&version, views, links, &stalled.1);
        let mut errors = Vec::new();
        for action in &plan.actions {
            if !self.leading() {
                return;
            }
            if let Err(reason) = self.run(action).await {
                if let Action::UpdateActor { component, .. }
                | Action::StartProvider {
                    component,
                    rollout: true,
                    ..
                } = action
                {
                    // A version that does not start stops the rollout; the
                    // replicas not updated keep serving the old one.
                    if let Some((_, stalled)) = self.stalled.get_mut(&name) {
                        stalled.insert(component.clone(), reason.clone());
                    }
                }
                errors.push(reason);
            }
        }
        let mut problems = plan.impossible.clone();
        problems.extend(errors);
        let state = if !problems.is_empty() {
            AppState::Failed
        } else if !plan.actions.is_empty() || !plan.missing.is_empty() {
            AppState::Reconciling
        } else {
            AppState::Deployed
        };
        let status = AppStatus {
            name: name.clone(),
            seq: version.seq,
            version: version.manifest.version.clone(),
            state,
            missing: plan.missing,
            reason: (!problems.is_empty()).then(|| problems.join("; ")),
            leader: self.host_id.clone(),
            updated_at_ms: now_ms(),
        };
        self.write(bucket, status).await;
    }

    /// Writes the status when it changed, and announces a change of state.
    async fn write(&mut self, bucket: &kv::Store, status: AppStatus) {
        let previous = self.written.get(&status.name);
        let same = previous.is_some_and(|p| {
            p.seq == status.seq
                && p.state == status.state
                && p.missing == status.missing
                && p.reason == status.reason
        });
        if same {
            return;
        }
        let state_changed = previous.is_none_or(|p| p.state != status.state || p.seq != status.seq);
        if let Err(e) = apps::write_status(bucket, &self.auth, &status).await {
            tracing::warn!(app = %status.name, "cannot write the app's status: {e}");
            return;
        }
        if state_changed {
            let kind = match status.state {
                AppState::Deployed => Some(EventType::AppDeployed),
                AppState::Reconciling => Some(EventType::AppReconciling),
                AppState::Failed => Some(EventType::AppFailed),
                AppState::Deleting => None,
            };
            if let Some(kind) = kind {
                let data = serde_json::to_value(&status).unwrap_or_default();
                self.events.publish(kind, data).await;
            }
        }
        self.written.insert(status.name.clone(), status);
    }
}
