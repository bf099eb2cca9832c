//! Placing one component: which replicas stop (duplicates, misplaced,
//! extras), where missing ones start (least-loaded eligible hosts, hosts
//! where a start just failed last), and — once every wanted replica runs —
//! the rollout of one outdated replica or the scaling of the rest.

use std::collections::{BTreeMap, BTreeSet};

use floe_wire::app::{Component, ComponentKind};
use floe_wire::control::StringMap;

use super::{Action, HostView, Instance, Plan, Stall, annotations, describe};

/// The hosts a component may run on, by the spread group each belongs to,
/// and how many replicas each group wants (`None`: a daemon, every host).
struct Groups<'h> {
    of_host: BTreeMap<&'h str, Option<usize>>,
    targets: Vec<Option<u32>>,
}

impl<'h> Groups<'h> {
    fn new(component: &Component, hosts: &'h [HostView]) -> Self {
        let placement = &component.placement;
        // Each host's group: the first spread group it matches (or group 0
        // without spread), None when it may not run the component at all.
        let groups = placement.spread.len().max(1);
        let group_of = |labels: &StringMap| -> Option<usize> {
            if placement.spread.is_empty() {
                return component.host_matches(labels, None).then_some(0);
            }
            (0..groups).find(|g| component.host_matches(labels, Some(*g)))
        };
        let of_host = hosts
            .iter()
            .map(|h| (h.host_id.as_str(), group_of(&h.labels)))
            .collect();
        let targets = match placement.replicas {
            Some(n) if placement.spread.is_empty() => vec![Some(n)],
            Some(n) => {
                let weights: Vec<u32> = placement.spread.iter().map(|s| s.weight).collect();
                floe_wire::app::replicas_per_group(n, &weights)
                    .into_iter()
                    .map(Some)
                    .collect()
            }
            // A daemon: every eligible host.
            None => vec![None],
        };
        Groups { of_host, targets }
    }

    fn group(&self, host: &str) -> Option<usize> {
        self.of_host.get(host).copied().flatten()
    }
}

/// What one pass does with one component's replicas.
struct Placing<'a, 'h> {
    app: &'a str,
    component: &'a Component,
    hosts: &'h [HostView],
    running: &'a [Instance],
    groups: Groups<'h>,
    /// Hosts running a replica (the first of each host's).
    running_hosts: BTreeSet<&'a str>,
    /// Replicas this pass stops: neither updated nor scaled.
    stopping: BTreeSet<(&'a str, &'a str)>,
}

pub(super) fn place<'h>(
    app: &str,
    component: &Component,
    hosts: &'h [HostView],
    running: &[Instance],
    load: &mut BTreeMap<&'h str, usize>,
    (stall, avoid): (Option<&Stall>, Option<&BTreeSet<String>>),
    plan: &mut Plan,
) {
    let mut placing = Placing {
        app,
        component,
        hosts,
        running,
        groups: Groups::new(component, hosts),
        running_hosts: BTreeSet::new(),
        stopping: BTreeSet::new(),
    };
    placing.stop_duplicates_and_misplaced(plan);
    // A stalled rollout heals with the version that ran before.
    let start_image = match stall {
        Some(stall) => running
            .iter()
            .find(|i| i.reference != component.image)
            .map(|i| i.reference.clone())
            .or_else(|| stall.fallback.clone()),
        None => Some(component.image.clone()),
    };
    let mut starts = 0usize;
    for g in 0..placing.groups.targets.len() {
        starts += placing.fill_group(g, start_image.as_deref(), load, avoid, plan);
    }
    if stall.is_none() && starts == 0 {
        placing.roll_out_or_scale(plan);
    }
}

impl<'a, 'h> Placing<'a, 'h> {
    fn stop_duplicates_and_misplaced(&mut self, plan: &mut Plan) {
        for instance in self.running {
            let duplicate = !self.running_hosts.insert(instance.host.as_str());
            let misplaced = self.groups.group(&instance.host).is_none();
            if duplicate || misplaced {
                self.stopping
                    .insert((instance.host.as_str(), instance.id.as_str()));
                plan.actions
                    .push(stop(self.component.kind, &instance.host, &instance.id));
            }
        }
    }

    /// Stops group `g`'s extras and starts what it misses; returns the
    /// starts.
    fn fill_group(
        &mut self,
        g: usize,
        start_image: Option<&str>,
        load: &mut BTreeMap<&'h str, usize>,
        avoid: Option<&BTreeSet<String>>,
        plan: &mut Plan,
    ) -> usize {
        let (component, placement) = (self.component, &self.component.placement);
        let in_group = |host: &str| self.groups.group(host) == Some(g);
        let mut here: Vec<&str> = self
            .running_hosts
            .iter()
            .copied()
            .filter(|h| in_group(h))
            .collect();
        let eligible: Vec<&'h str> = self
            .hosts
            .iter()
            .map(|h| h.host_id.as_str())
            .filter(|h| in_group(h))
            .collect();
        let want = self.groups.targets[g].map_or(eligible.len(), |t| t as usize);
        let group_name = placement.spread.get(g).map_or_else(
            || describe(&placement.requirements),
            |s| describe(&s.requirements),
        );
        if here.len() > want {
            // Extras go, the last by host id first.
            here.sort_unstable();
            for host in here.split_off(want) {
                if let Some(instance) = self.running.iter().find(|i| i.host == host) {
                    self.stopping
                        .insert((instance.host.as_str(), instance.id.as_str()));
                    plan.actions.push(stop(component.kind, host, &instance.id));
                }
            }
        }
        let need = want.saturating_sub(here.len());
        if need == 0 {
            return 0;
        }
        plan.missing.push(format!(
            "{}: {} of {want} replicas on {group_name}",
            component.name,
            here.len()
        ));
        let Some(image) = start_image else {
            return 0;
        };
        let mut free: Vec<&'h str> = eligible
            .iter()
            .copied()
            .filter(|h| !self.running_hosts.contains(h))
            .collect();
        // Hosts where a start just failed come last.
        let avoided = |h: &str| avoid.is_some_and(|a| a.contains(h));
        free.sort_by_key(|h| (avoided(h), load.get(h).copied().unwrap_or(0), *h));
        if free.len() < need {
            plan.impossible.push(format!(
                "{}: {want} replicas wanted on {group_name}, but only {} hosts match",
                component.name,
                eligible.len()
            ));
        }
        let mut starts = 0;
        for host in free.into_iter().take(need) {
            *load.entry(host).or_default() += 1;
            starts += 1;
            plan.actions
                .push(start(self.app, component, host, image, None));
        }
        starts
    }

    /// Every wanted replica runs: rolls out one outdated replica, else
    /// scales those whose max-concurrent differs.
    fn roll_out_or_scale(&self, plan: &mut Plan) {
        let component = self.component;
        let kept = |i: &&Instance| !self.stopping.contains(&(i.host.as_str(), i.id.as_str()));
        let outdated = self
            .running
            .iter()
            .filter(kept)
            .find(|i| i.reference != component.image || !same_config(i, component));
        if let Some(instance) = outdated {
            let runs = match instance.reference == component.image {
                true => format!("{} with its earlier config", instance.reference),
                false => instance.reference.clone(),
            };
            plan.missing.push(format!(
                "{}: rolling out {} (replica on {} still runs {runs})",
                component.name, component.image, instance.host
            ));
            match component.kind {
                ComponentKind::Actor => plan.actions.push(Action::UpdateActor {
                    host: instance.host.clone(),
                    component: component.name.clone(),
                    actor_id: instance.id.clone(),
                    image: component.image.clone(),
                    previous: instance.reference.clone(),
                    config: component.config.clone(),
                    secrets: component.secrets.clone(),
                }),
                ComponentKind::Provider => {
                    plan.actions
                        .push(stop(component.kind, &instance.host, &instance.id));
                    plan.actions.push(start(
                        self.app,
                        component,
                        &instance.host,
                        &component.image,
                        Some(&instance.reference),
                    ));
                }
            }
            return;
        }
        if let (ComponentKind::Actor, Some(wanted)) = (component.kind, component.max_concurrent) {
            for instance in self.running.iter().filter(kept) {
                if instance.max_concurrent != Some(wanted) {
                    plan.actions.push(Action::ScaleActor {
                        host: instance.host.clone(),
                        actor_id: instance.id.clone(),
                        max_concurrent: wanted,
                    });
                }
            }
        }
    }
}

fn start(
    app: &str,
    component: &Component,
    host: &str,
    image: &str,
    previous: Option<&str>,
) -> Action {
    match component.kind {
        ComponentKind::Actor => Action::StartActor {
            host: host.to_owned(),
            component: component.name.clone(),
            image: image.to_owned(),
            config: component.config.clone(),
            secrets: component.secrets.clone(),
            max_concurrent: component.max_concurrent,
            idle_after_ms: component.idle_after_ms(),
            dormant: component.dormant,
            annotations: annotations(app, &component.name),
        },
        ComponentKind::Provider => Action::StartProvider {
            host: host.to_owned(),
            component: component.name.clone(),
            image: image.to_owned(),
            config: component.config.clone(),
            annotations: annotations(app, &component.name),
            previous: previous.map(str::to_owned),
        },
    }
}

/// Whether a running actor has the config and secrets its component
/// names (a provider's config is not reported: always the same).
fn same_config(instance: &Instance, component: &Component) -> bool {
    instance.config.as_ref().is_none_or(|(config, secrets)| {
        *config == component.config && *secrets == component.secrets
    })
}

/// The action that stops one replica.
pub(super) fn stop(kind: ComponentKind, host: &str, id: &str) -> Action {
    match kind {
        ComponentKind::Actor => Action::StopActor {
            host: host.to_owned(),
            actor_id: id.to_owned(),
        },
        ComponentKind::Provider => Action::StopProvider {
            host: host.to_owned(),
            provider_id: id.to_owned(),
        },
    }
}
