//! The pure part of reconciling: from one app version, the live hosts (their
//! labels and what runs there), the links and the routes, the actions that bring the
//! lattice closer to the manifest, what is still missing, and what cannot be
//! done as things stand. No I/O, so every rule is unit-tested.
//!
//! Rules: a replica is one host running the component. Instances are the
//! app's by their annotations (`floe.app`, `floe.app.component`), never by
//! id, so a new leader finds what an old one started. Starts go to the
//! least-loaded eligible hosts; a rollout updates one outdated replica per
//! pass, and only when every wanted replica runs.

use std::collections::{BTreeMap, BTreeSet};

use floe_wire::Link;
use floe_wire::app::{APP_ANNOTATION, AppVersion, COMPONENT_ANNOTATION, Component, ComponentKind};
use floe_wire::control::{ActorDescription, ProviderDescription, StringMap};
use floe_wire::ingress::Route;

use place::{place, stop};
pub use routes::{plan_routes, route_owners, route_removal};

/// A live host as the leader sees it.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    pub host_id: String,
    pub labels: StringMap,
    pub actors: Vec<ActorDescription>,
    pub providers: Vec<ProviderDescription>,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    StartActor {
        host: String,
        component: String,
        image: String,
        config: StringMap,
        /// `wasi:config` key → secret name.
        secrets: StringMap,
        max_concurrent: Option<u32>,
        /// `None`: the host's default; `Some(0)`: never dormant.
        idle_after_ms: Option<u64>,
        /// Start dormant (code loaded by the first call).
        dormant: bool,
        annotations: StringMap,
    },
    UpdateActor {
        host: String,
        component: String,
        actor_id: String,
        image: String,
        /// The image it replaces.
        previous: String,
        /// The replica's config and secrets mapping from now on.
        config: StringMap,
        secrets: StringMap,
    },
    ScaleActor {
        host: String,
        actor_id: String,
        max_concurrent: u32,
    },
    StopActor {
        host: String,
        actor_id: String,
    },
    StartProvider {
        host: String,
        component: String,
        image: String,
        config: StringMap,
        annotations: StringMap,
        /// In a rollout, the image it replaces on this host (a failure stops
        /// the rollout).
        previous: Option<String>,
    },
    StopProvider {
        host: String,
        provider_id: String,
    },
    PutLink(Link),
    DeleteLink {
        source: String,
        package: String,
        link_name: String,
    },
    PutRoute(Route),
    DeleteRoute {
        name: String,
    },
}

impl Action {
    /// The host it acts on (`None`: links and routes, which live in the
    /// lattice).
    pub fn host(&self) -> Option<&str> {
        match self {
            Action::StartActor { host, .. }
            | Action::UpdateActor { host, .. }
            | Action::ScaleActor { host, .. }
            | Action::StopActor { host, .. }
            | Action::StartProvider { host, .. }
            | Action::StopProvider { host, .. } => Some(host),
            Action::PutLink(_)
            | Action::DeleteLink { .. }
            | Action::PutRoute(_)
            | Action::DeleteRoute { .. } => None,
        }
    }
}

/// What one pass found for one app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// What is not there yet, one line each.
    pub missing: Vec<String>,
    /// What cannot be done as things stand (no matching host, …).
    pub impossible: Vec<String>,
}

/// Why a component's rollout stopped, and the image to heal it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub reason: String,
    /// The version that ran before the failed one, for replicas lost since.
    pub fallback: Option<String>,
}

/// What the leader remembers between passes about one app version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// Components whose rollout to their current image failed: not updated
    /// again until a new version is applied.
    pub stalled: BTreeMap<String, Stall>,
    /// Hosts where a component's start just failed: tried last, for a while.
    pub avoid: BTreeMap<String, BTreeSet<String>>,
}

/// One running replica of a component.
#[derive(Debug, Clone)]
struct Instance {
    host: String,
    id: String,
    reference: String,
    max_concurrent: Option<u32>,
    /// An actor's config and secrets mapping, as its host reports them.
    config: Option<(StringMap, StringMap)>,
}

fn owned_by(annotations: &StringMap, app: &str, component: Option<&str>) -> bool {
    annotations.get(APP_ANNOTATION).map(String::as_str) == Some(app)
        && component
            .is_none_or(|c| annotations.get(COMPONENT_ANNOTATION).map(String::as_str) == Some(c))
}

/// The actor id of each running replica of `component` (one per host).
pub fn running_replicas(hosts: &[HostView], app: &str, component: &Component) -> Vec<String> {
    instances(hosts, app, component)
        .into_iter()
        .map(|i| i.id)
        .collect()
}

fn instances(hosts: &[HostView], app: &str, component: &Component) -> Vec<Instance> {
    let mut found = Vec::new();
    for host in hosts {
        match component.kind {
            ComponentKind::Actor => {
                for a in &host.actors {
                    if owned_by(&a.annotations, app, Some(&component.name)) {
                        found.push(Instance {
                            host: host.host_id.clone(),
                            id: a.actor_id.clone(),
                            reference: a.reference.clone(),
                            max_concurrent: Some(a.max_concurrent),
                            // An older host does not report them: taken as current.
                            config: a.config.clone().zip(a.secrets.clone()),
                        });
                    }
                }
            }
            ComponentKind::Provider => {
                for p in &host.providers {
                    if owned_by(&p.annotations, app, Some(&component.name)) {
                        found.push(Instance {
                            host: host.host_id.clone(),
                            id: p.provider_id.clone(),
                            reference: p.reference.clone(),
                            max_concurrent: None,
                            config: None,
                        });
                    }
                }
            }
        }
    }
    found
}

fn describe(requirements: &StringMap) -> String {
    if requirements.is_empty() {
        return "any host".to_owned();
    }
    requirements
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The annotations of what the app starts for `component`.
pub fn annotations(app: &str, component: &str) -> StringMap {
    [
        (APP_ANNOTATION.to_owned(), app.to_owned()),
        (COMPONENT_ANNOTATION.to_owned(), component.to_owned()),
    ]
    .into()
}

/// Plans one pass for `version` with what the leader remembers of it.
pub fn plan_app(version: &AppVersion, hosts: &[HostView], links: &[Link], memory: &Memory) -> Plan {
    let app = &version.manifest;
    let mut plan = Plan::default();
    // Load per host (what runs there), raised as starts are planned.
    let mut load: BTreeMap<&str, usize> = hosts
        .iter()
        .map(|h| (h.host_id.as_str(), h.actors.len() + h.providers.len()))
        .collect();
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    for component in &app.components {
        let running = instances(hosts, &app.name, component);
        if let Some(first) = running.first() {
            ids.insert(component.name.as_str(), first.id.clone());
        }
        let stall = memory.stalled.get(&component.name);
        if let Some(stall) = stall {
            plan.impossible.push(format!(
                "{}: rollout to {} stopped: {}",
                component.name, component.image, stall.reason
            ));
        }
        let avoid = memory.avoid.get(&component.name);
        place(
            &app.name,
            component,
            hosts,
            &running,
            &mut load,
            (stall, avoid),
            &mut plan,
        );
    }
    // Components the manifest no longer names.
    let named: BTreeSet<&str> = app.components.iter().map(|c| c.name.as_str()).collect();
    for host in hosts {
        let gone = |annotations: &StringMap| {
            owned_by(annotations, &app.name, None)
                && annotations
                    .get(COMPONENT_ANNOTATION)
                    .is_none_or(|c| !named.contains(c.as_str()))
        };
        for a in host.actors.iter().filter(|a| gone(&a.annotations)) {
            plan.missing
                .push(format!("{}: no longer in the app", a.name));
            plan.actions
                .push(stop(ComponentKind::Actor, &host.host_id, &a.actor_id));
        }
        for p in host.providers.iter().filter(|p| gone(&p.annotations)) {
            plan.missing
                .push(format!("{}: no longer in the app", p.name));
            plan.actions
                .push(stop(ComponentKind::Provider, &host.host_id, &p.provider_id));
        }
    }
    plan_links(version, links, &ids, &mut plan);
    plan
}

fn plan_links(version: &AppVersion, links: &[Link], ids: &BTreeMap<&str, String>, plan: &mut Plan) {
    let app = &version.manifest;
    let mut wanted_keys = BTreeSet::new();
    let mut unresolved = false;
    for spec in &app.links {
        let (Some(source), Some(target)) =
            (ids.get(spec.source.as_str()), ids.get(spec.target.as_str()))
        else {
            plan.missing.push(format!(
                "link {} → {}: waits for both to run",
                spec.source, spec.target
            ));
            unresolved = true;
            continue;
        };
        let Ok((package, interfaces)) = spec.package_and_interfaces() else {
            continue; // validated on apply
        };
        let link = Link {
            v: floe_wire::link::LINK_VERSION,
            source: source.clone(),
            target: target.clone(),
            package,
            interfaces,
            link_name: spec.link_name.clone(),
            source_config: spec.source_config.clone(),
            target_config: spec.target_config.clone(),
            annotations: [(APP_ANNOTATION.to_owned(), app.name.clone())].into(),
        };
        wanted_keys.insert(link.key());
        if !links.contains(&link) {
            plan.missing
                .push(format!("link {} → {}", spec.source, spec.target));
            plan.actions.push(Action::PutLink(link));
        }
    }
    // While an end is missing its key is unknown: keep the app's links.
    if unresolved {
        return;
    }
    for link in links {
        if owned_by(&link.annotations, &app.name, None) && !wanted_keys.contains(&link.key()) {
            plan.actions.push(Action::DeleteLink {
                source: link.source.clone(),
                package: link.package.clone(),
                link_name: link.link_name.clone(),
            });
        }
    }
}

/// Everything the app `app` owns, to remove (on `app delete`, or for an app
/// whose entries are gone).
pub fn plan_removal(app: &str, hosts: &[HostView], links: &[Link]) -> Vec<Action> {
    let mut actions = Vec::new();
    for link in links {
        if owned_by(&link.annotations, app, None) {
            actions.push(Action::DeleteLink {
                source: link.source.clone(),
                package: link.package.clone(),
                link_name: link.link_name.clone(),
            });
        }
    }
    for host in hosts {
        for a in &host.actors {
            if owned_by(&a.annotations, app, None) {
                actions.push(stop(ComponentKind::Actor, &host.host_id, &a.actor_id));
            }
        }
        for p in &host.providers {
            if owned_by(&p.annotations, app, None) {
                actions.push(stop(ComponentKind::Provider, &host.host_id, &p.provider_id));
            }
        }
    }
    actions
}

/// The apps that own something running or linked.
pub fn owners(hosts: &[HostView], links: &[Link]) -> BTreeSet<String> {
    let mut apps = BTreeSet::new();
    let mut add = |annotations: &StringMap| {
        if let Some(app) = annotations.get(APP_ANNOTATION) {
            apps.insert(app.clone());
        }
    };
    for host in hosts {
        host.actors.iter().for_each(|a| add(&a.annotations));
        host.providers.iter().for_each(|p| add(&p.annotations));
    }
    links.iter().for_each(|l| add(&l.annotations));
    apps
}

mod place;
mod routes;
#[cfg(test)]
mod tests;
