//! The lattice seen whole: each actor and provider summed over every host
//! that runs it (`floe get actors`, `floe get providers`), from the hosts'
//! inventories.

use std::collections::{BTreeMap, BTreeSet};

use floe_wire::claims::ProviderClaims;
use floe_wire::control::{HostInventory, ProviderHealth, ReplicaState};
use serde::Serialize;

/// One actor on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorReplica {
    pub host_id: String,
    pub version: String,
    pub revision: u32,
    pub max_concurrent: u32,
    pub calls: u64,
    pub failures: u64,
    pub in_flight: u64,
    /// Active (code loaded) or dormant (code freed until its next call).
    pub state: ReplicaState,
    /// Calls that found it dormant and loaded its code.
    pub cold_starts: u64,
    /// When its last call began (Unix milliseconds).
    pub last_call_unix_ms: Option<u64>,
}

/// One actor over the lattice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorSummary {
    pub actor_id: String,
    pub name: String,
    /// The versions running (more than one during a rollout).
    pub versions: BTreeSet<String>,
    /// Instances that may run at once, over all hosts.
    pub max_concurrent: u64,
    pub calls: u64,
    pub failures: u64,
    /// Replicas whose code is loaded (the rest are dormant).
    pub active: usize,
    pub replicas: Vec<ActorReplica>,
}

/// One provider on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderReplica {
    pub host_id: String,
    pub health: ProviderHealth,
    pub restarts: u32,
    pub pid: Option<u32>,
}

/// One provider over the lattice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderSummary {
    pub provider_id: String,
    pub name: String,
    /// The archive versions running; empty for plain executables.
    pub versions: BTreeSet<String>,
    /// The account that signed its archive (`None`: a plain executable).
    pub issuer: Option<String>,
    /// Replicas answering health checks.
    pub healthy: usize,
    pub replicas: Vec<ProviderReplica>,
}

/// Every actor of the inventories, by name then id.
pub fn actors(inventories: &[HostInventory]) -> Vec<ActorSummary> {
    let mut by_id: BTreeMap<String, ActorSummary> = BTreeMap::new();
    for inventory in inventories {
        for actor in &inventory.actors {
            let failures = actor.failures.values().sum();
            let summary = by_id
                .entry(actor.actor_id.clone())
                .or_insert_with(|| ActorSummary {
                    actor_id: actor.actor_id.clone(),
                    name: actor.name.clone(),
                    versions: BTreeSet::new(),
                    max_concurrent: 0,
                    calls: 0,
                    failures: 0,
                    active: 0,
                    replicas: Vec::new(),
                });
            summary.versions.insert(actor.version.clone());
            if actor.state == ReplicaState::Active {
                summary.active += 1;
            }
            summary.max_concurrent += u64::from(actor.max_concurrent);
            summary.calls += actor.calls;
            summary.failures += failures;
            summary.replicas.push(ActorReplica {
                host_id: inventory.host.host_id.clone(),
                version: actor.version.clone(),
                revision: actor.revision,
                max_concurrent: actor.max_concurrent,
                calls: actor.calls,
                failures,
                in_flight: actor.in_flight,
                state: actor.state,
                cold_starts: actor.cold_starts,
                last_call_unix_ms: actor.last_call_unix_ms,
            });
        }
    }
    let mut all: Vec<ActorSummary> = by_id.into_values().collect();
    for summary in &mut all {
        summary.replicas.sort_by(|a, b| a.host_id.cmp(&b.host_id));
    }
    all.sort_by(|a, b| (&a.name, &a.actor_id).cmp(&(&b.name, &b.actor_id)));
    all
}

/// Every provider of the inventories, by name then id.
pub fn providers(inventories: &[HostInventory]) -> Vec<ProviderSummary> {
    let mut by_id: BTreeMap<String, ProviderSummary> = BTreeMap::new();
    for inventory in inventories {
        for provider in &inventory.providers {
            let summary = by_id
                .entry(provider.provider_id.clone())
                .or_insert_with(|| ProviderSummary {
                    provider_id: provider.provider_id.clone(),
                    name: provider.name.clone(),
                    versions: BTreeSet::new(),
                    issuer: provider.claims.as_ref().map(|c| c.iss.clone()),
                    healthy: 0,
                    replicas: Vec::new(),
                });
            if let Some(claims) = &provider.claims {
                summary.versions.insert(claims.floe.version.clone());
            }
            if provider.health == ProviderHealth::Healthy {
                summary.healthy += 1;
            }
            summary.replicas.push(ProviderReplica {
                host_id: inventory.host.host_id.clone(),
                health: provider.health,
                restarts: provider.restarts,
                pid: provider.pid,
            });
        }
    }
    let mut all: Vec<ProviderSummary> = by_id.into_values().collect();
    for summary in &mut all {
        summary.replicas.sort_by(|a, b| a.host_id.cmp(&b.host_id));
    }
    all.sort_by(|a, b| (&a.name, &a.provider_id).cmp(&(&b.name, &b.provider_id)));
    all
}

/// Verified claims of something running: an actor's (from its component)
/// or a provider's (from its archive). Told apart by the subject's prefix
/// (`M…`, `V…`) or by the fields of `floe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RunningClaims {
    Actor(floe_wire::Claims),
    Provider(ProviderClaims),
}

impl RunningClaims {
    fn sort_key(&self) -> (&str, &str) {
        match self {
            RunningClaims::Actor(c) => (&c.floe.name, &c.sub),
            RunningClaims::Provider(c) => (&c.floe.name, &c.sub),
        }
    }
}

/// The claims of every running version, once each (by id and revision), by
/// name: actors', then signed providers'.
pub fn claims(inventories: &[HostInventory]) -> Vec<RunningClaims> {
    let mut seen: BTreeMap<(String, u32), RunningClaims> = BTreeMap::new();
    for inventory in inventories {
        for actor in &inventory.actors {
            if let Some(claims) = &actor.claims {
                seen.entry((claims.sub.clone(), claims.floe.revision))
                    .or_insert_with(|| RunningClaims::Actor(claims.clone()));
            }
        }
        for provider in &inventory.providers {
            if let Some(claims) = &provider.claims {
                seen.entry((claims.sub.clone(), claims.floe.revision))
                    .or_insert_with(|| RunningClaims::Provider(claims.clone()));
            }
        }
    }
    let mut all: Vec<RunningClaims> = seen.into_values().collect();
    all.sort_by(|a, b| {
        let kind = |c: &RunningClaims| matches!(c, RunningClaims::Provider(_));
        (kind(a), a.sort_key()).cmp(&(kind(b), b.sort_key()))
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_wire::control::{ActorDescription, HostInfo, ProviderDescription};

    fn inventory(
        host: &str,
        actors: &[(&str, &str, u64)],
        providers: &[(&str, ProviderHealth)],
    ) -> HostInventory {
        let info = HostInfo {
            host_id: host.into(),
            lattice: "default".into(),
            version: "0.1.0".into(),
            target: "x86_64-unknown-linux-gnu".into(),
            labels: Default::default(),
            started_at: "2026-11-27T00:00:00Z".into(),
            uptime_secs: 1,
            actors: actors.len(),
            providers: providers.len(),
            rejected: Default::default(),
            lattice_hosts: 0,
            secrets_keys: Vec::new(),
        };
        HostInventory {
            host: info,
            actors: actors
                .iter()
                .map(|(id, version, calls)| ActorDescription {
                    actor_id: (*id).into(),
                    name: "echo".into(),
                    version: (*version).into(),
                    revision: 1,
                    issuer: "A".into(),
                    reference: "echo.wasm".into(),
                    max_concurrent: 4,
                    annotations: Default::default(),
                    calls: *calls,
                    instances: *calls,
                    failures: [("trapped".to_owned(), 1)].into(),
                    in_flight: 0,
                    claims: None,
                    state: ReplicaState::Active,
                    idle_after_ms: None,
                    last_call_unix_ms: None,
                    cold_starts: 0,
                    wake_failure: None,
                    config: Default::default(),
                    secrets: Default::default(),
                })
                .collect(),
            providers: providers
                .iter()
                .map(|(id, health)| ProviderDescription {
                    provider_id: (*id).into(),
                    name: "kv".into(),
                    reference: "/bin/kv".into(),
                    claims: None,
                    target: None,
                    health: *health,
                    restarts: 0,
                    pid: Some(1),
                    annotations: Default::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn replicas_are_summed_per_id() {
        let inventories = [
            inventory(
                "NB",
                &[("MECHO", "0.2.0", 5)],
                &[("VKV", ProviderHealth::Healthy)],
            ),
            inventory(
                "NA",
                &[("MECHO", "0.1.0", 7)],
                &[("VKV", ProviderHealth::Restarting)],
            ),
        ];
        let actors = actors(&inventories);
        assert_eq!(actors.len(), 1);
        let echo = &actors[0];
        assert_eq!(echo.calls, 12);
        assert_eq!(echo.failures, 2);
        assert_eq!(echo.max_concurrent, 8);
        assert_eq!(
            echo.versions,
            ["0.1.0".to_owned(), "0.2.0".to_owned()].into()
        );
        let hosts: Vec<&str> = echo.replicas.iter().map(|r| r.host_id.as_str()).collect();
        assert_eq!(hosts, ["NA", "NB"]);
        let providers = providers(&inventories);
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].healthy, 1);
        assert_eq!(providers[0].replicas.len(), 2);
    }
}
