//! One pass of the leader: announce lost hosts, see the live ones and what
//! they run, then for every app plan and act, write its status and announce
//! a change of state; remove what apps without entries still own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use floe_ctl::CtlClient;
use floe_lattice::LatticeAuth;
use floe_lattice::apps;
use floe_lattice::records::Record;
use floe_wire::EventType;
use floe_wire::Link;
use floe_wire::app::{AppHead, AppState, AppStatus};
use floe_wire::events::AppScaledData;
use serde_json::json;

use crate::hosts::HostTracker;
use crate::plan::{self, Action, HostView, Memory, Stall};
use crate::scale::{self, ScaleState};
use crate::stored_routes::{SWEEP_EVERY, StoredRoutes};
use crate::views::HostViews;
use crate::{EventSink, Leadership, act};

/// The leader's memory between passes (lost with the lease: a new leader
/// starts from what the lattice shows).
pub struct Leader {
    client: CtlClient,
    auth: Arc<LatticeAuth>,
    host_id: String,
    events: Arc<dyn EventSink>,
    leading: Arc<Leadership>,
    bucket: Option<kv::Store>,
    /// Per app: what the leader learned about its current version.
    memory: BTreeMap<String, AppMemory>,
    /// The live hosts as last seen, and their load.
    views: HostViews,
    /// Per app: the status last written.
    written: BTreeMap<String, AppStatus>,
    was_leading: bool,
    passes: u64,
}

/// How long a failed start keeps its host last in line and its error in
/// the app's status.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// How long a host that refused a component's image itself stays last in
/// line for that component.
const ARTIFACT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What the leader learned about one app version.
#[derive(Debug, Default)]
struct AppMemory {
    seq: u64,
    stalled: BTreeMap<String, Stall>,
    /// (component, host) → until when the host comes last for it.
    avoid: BTreeMap<(String, String), Instant>,

    /// Recent failures, shown in the status until they age out.
    errors: Vec<(Instant, String)>,
    /// Autoscaled components: the replicas wanted now.
    scale: BTreeMap<String, ScaleState>,
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
        leading: Arc<Leadership>,
    ) -> Self {
        Leader {
            // Longer than a host's drain on stop; starts and updates wait longer still.
            client: CtlClient::from_client(nats, auth.clone(), Duration::from_secs(15)),
            auth,
            host_id,
            events,
            leading,
            bucket: None,
            memory: BTreeMap::new(),
            views: HostViews::default(),
            written: BTreeMap::new(),
            was_leading: false,
            passes: 0,
        }
    }

    /// The planner's view of what was learned about `name` at `seq`
    /// (forgotten when a new version is applied), expired entries dropped.
    fn memory_for(&mut self, name: &str, seq: u64) -> Memory {
        let app = self.memory.entry(name.to_owned()).or_default();
        if app.seq != seq {
            *app = AppMemory {
                seq,
                ..AppMemory::default()
            };
        }
        let now = Instant::now();
        app.avoid.retain(|_, until| *until > now);

        app.errors
            .retain(|(at, _)| now.duration_since(*at) < RETRY_AFTER);
        let mut avoid: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (component, host) in app.avoid.keys() {
            avoid
                .entry(component.clone())
                .or_default()
                .insert(host.clone());
        }
        Memory {
            stalled: app.stalled.clone(),
            avoid,
        }
    }

    fn leading(&self) -> bool {
        self.leading.is_leading()
    }

    /// Not leading: forget what only a leader keeps.
    pub fn follow(&mut self) {
        if self.was_leading {
            self.memory.clear();
            self.views.clear();
            self.written.clear();
            self.was_leading = false;
        }
    }

    pub async fn pass(&mut self, tracker: &Mutex<HostTracker>) {
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
        if heads.is_empty() && self.passes % SWEEP_EVERY != 1 {
            return;
        }
        let Some(views) = self.observe(tracker).await else {
            return;
        };
        let links = match self.client.links().await {
            Ok(links) => links,
            Err(e) => {
                tracing::warn!("reconciler: cannot read the links: {e}");
                return;
            }
        };
        let mut routes = StoredRoutes::default();
        let sweep = self.passes % SWEEP_EVERY == 1;
        let names: BTreeSet<String> = heads.iter().map(|h| h.value.name.clone()).collect();
        for head in heads {
            if !self.leading() {
                return;
            }
            self.reconcile(&bucket, head, &views, &links, (&mut routes, sweep))
                .await;
        }
        // What apps without entries still own (an app forgotten mid-way).
        let mut owners = plan::owners(&views, &links);
        if sweep && let Some(stored) = routes.get(&self.client).await {
            owners.extend(plan::route_owners(stored));
        }
        for orphan in owners.difference(&names) {
            // Only an app whose head is really gone: one that exists but does
            // not open (a seal out of its window, a newer format) is left alone.
            match bucket.entry(floe_wire::app::head_key(orphan)).await {
                Ok(None) => {}
                Ok(Some(entry)) if entry.operation != kv::Operation::Put => {}
                Ok(Some(_)) => {
                    tracing::warn!(app = %orphan, "the app's record does not open: leaving what it owns alone");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(app = %orphan, "cannot read the app's record: {e}");
                    continue;
                }
            }
            let Some(stored) = routes.get(&self.client).await else {
                continue;
            };
            let mut actions = plan::route_removal(orphan, stored);
            actions.extend(plan::plan_removal(orphan, &views, &links));
            for action in actions {
                if !self.leading() {
                    return;
                }
                self.run(&action).await.ok();
            }
        }
    }

    /// The live hosts and what they run (see `HostViews::refresh`), after
    /// announcing the hosts lost since the last pass.
    async fn observe(&mut self, tracker: &Mutex<HostTracker>) -> Option<Vec<HostView>> {
        let refreshed = self.views.refresh(tracker, &self.client).await;
        for (host_id, silent) in refreshed.lost {
            tracing::warn!(host = %host_id, ?silent, "host lost: no heartbeat");
            self.events
                .publish(
                    EventType::HostLost,
                    json!({ "host_id": host_id, "silent_ms": silent.as_millis() as u64 }),
                )
                .await;
        }
        refreshed.views
    }

    /// Runs `action`; when it failed, how (see `act::Failure`) and the
    /// reason for the app's status.
    async fn run(&self, action: &Action) -> Result<(), (act::Failure, String)> {
        let what = act::describe(action);
        // Whatever the outcome, read its host again next pass.
        if let Some(host) = action.host() {
            self.views.mark_stale(host);
        }
        match act::act(&self.client, action).await {
            Ok(()) => {
                tracing::info!("reconciler: {what}");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(code = %e.code(), "reconciler: {what} failed: {e}");
                Err((act::Failure::of(&e), format!("{what}: {e}")))
            }
        }
    }

    async fn reconcile(
        &mut self,
        bucket: &kv::Store,
        head: Record<AppHead>,
        views: &[HostView],
        links: &[Link],
        (routes, sweep): (&mut StoredRoutes, bool),
    ) {
        let name = head.value.name.clone();
        if head.value.deleting {
            self.remove(bucket, &head, views, links, routes).await;
            return;
        }
        // The head is in hand: read only the version it names.
        let version = match apps::read_version(bucket, &self.auth, &name, head.value.seq).await {
            Ok(Some(version)) => version,
            Ok(None) => {
                tracing::warn!(app = %name, seq = head.value.seq, "reconciler: the app's current version is missing");
                return;
            }
            Err(e) => {
                tracing::warn!(app = %name, "reconciler: {e}");
                return;
            }
        };
        let memory = self.memory_for(&name, version.seq);
        let (scaled, decisions) = {
            let app = self.memory.entry(name.clone()).or_default();
            scale::apply(&version, views, &self.views.loads, &mut app.scale)
        };
        let version = scaled.unwrap_or(version);
        for decision in decisions {
            tracing::info!(app = %name, component = %decision.component, from = decision.from, to = decision.to, reason = %decision.reason, "reconciler: scaled");
            self.events
                .publish(
                    EventType::AppScaled,
                    json!(AppScaledData {
                        app: name.clone(),
                        component: decision.component,
                        from: decision.from,
                        to: decision.to,
                        reason: decision.reason,
                    }),
                )
                .await;
        }
        let mut plan = plan::plan_app(&version, views, links, &memory);
        // Routes are read when the app declares some, and on sweeps (an app
        // that dropped its last route loses it then).
        if (!version.manifest.routes.is_empty() || sweep)
            && let Some(stored) = routes.get(&self.client).await
        {
            plan::plan_routes(&version, views, stored, &mut plan);
        }
        for action in &plan.actions {
            if !self.leading() {
                return;
            }
            if let Err((failure, reason)) = self.run(action).await {
                self.note_failure(&name, action, failure, reason);
            }
        }
        let mut problems = plan.impossible.clone();
        if let Some(app) = self.memory.get(&name) {
            problems.extend(app.errors.iter().map(|(_, reason)| reason.clone()));
        }
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

    /// A deleting app: removes what it started; once nothing is left, its
    /// keys (only while the head is the one read) and `app_deleted`.
    async fn remove(
        &mut self,
        bucket: &kv::Store,
        head: &Record<AppHead>,
        views: &[HostView],
        links: &[Link],
        routes: &mut StoredRoutes,
    ) {
        let name = head.value.name.clone();
        // Its routes must be known before it may be forgotten.
        let Some(stored) = routes.get(&self.client).await else {
            return;
        };
        let mut actions = plan::route_removal(&name, stored);
        actions.extend(plan::plan_removal(&name, views, links));
        if actions.is_empty() {
            if let Err(e) = apps::forget(bucket, &self.auth, &name, head.revision).await {
                tracing::warn!(app = %name, "cannot forget a deleted app: {e}");
                return;
            }
            self.written.remove(&name);
            self.memory.remove(&name);
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
    }

    /// Remembers a failed action of app `name`: a stalled rollout, or a
    /// host to try last for a while; the reason shows in the status.
    fn note_failure(&mut self, name: &str, action: &Action, failure: act::Failure, reason: String) {
        let Some(app) = self.memory.get_mut(name) else {
            return;
        };
        match action {
            // A version that does not start stops the rollout; the
            // replicas not updated keep serving the old one. A host that
            // refused for a reason that passes (a transient code) only
            // comes last for a while, like a failed start.
            Action::UpdateActor {
                component,
                previous,
                ..
            }
            | Action::StartProvider {
                component,
                previous: Some(previous),
                ..
            } if failure != act::Failure::Transient => {
                app.stalled.insert(
                    component.clone(),
                    Stall {
                        reason: reason.clone(),
                        fallback: Some(previous.clone()),
                    },
                );
            }
            // A start that failed (a copy outside the app holds the host,
            // the host is stopping, the image does not run there): that
            // host comes last for a while — longer when it refused the
            // image itself (no such artifact there, not valid for it, an
            // issuer it does not trust), which it will do again.
            Action::StartActor {
                component, host, ..
            }
            | Action::UpdateActor {
                component, host, ..
            }
            | Action::StartProvider {
                component, host, ..
            } => {
                let wait = match failure {
                    act::Failure::Artifact => ARTIFACT_RETRY_AFTER,
                    _ => RETRY_AFTER,
                };
                app.avoid
                    .insert((component.clone(), host.clone()), Instant::now() + wait);
            }
            _ => {}
        }
        app.errors.push((Instant::now(), reason));
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
