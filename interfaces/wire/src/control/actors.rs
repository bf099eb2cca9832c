//! Control messages about actors: start, stop, scale, update, and how an
//! actor on a host is described.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StringMap, version};

/// `ctl.{host}.actor.start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartActorRequest {
    #[serde(default = "version")]
    pub v: u16,
    /// Where the component is: for now an absolute file path on the host.
    pub reference: String,
    /// Instances that may run at once on this host (default: the host's).
    #[serde(default)]
    pub max_concurrent: Option<u32>,
    #[serde(default)]
    pub annotations: StringMap,
    /// What the actor reads through `wasi:config/store`.
    #[serde(default)]
    pub config: StringMap,
    /// Secrets the actor reads as config: `wasi:config` key → secret name.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub secrets: StringMap,
    /// Milliseconds without calls after which the replica goes dormant
    /// (its compiled code freed until the next call); `0`: never. Default:
    /// the host's `--idle-after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_after_ms: Option<u64>,
    /// Start dormant: verified, its code checked and in the host's compile
    /// cache, but not kept in memory until the first call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dormant: bool,
}

/// Whether a replica holds its compiled code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaState {
    /// Code loaded; instances may run.
    #[default]
    Active,
    /// Code freed (kept in the host's compile cache); the next call loads
    /// it again, a cold call.
    Dormant,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Active => "active",
            ReplicaState::Dormant => "dormant",
        }
    }
}

/// The reply to a start or update: what now serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorStarted {
    pub actor_id: String,
    pub name: String,
    pub version: String,
    pub revision: u32,
    pub host_id: String,
    /// True when the actor already ran on this host and nothing changed.
    #[serde(default)]
    pub already_running: bool,
}

/// `ctl.{host}.actor.stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopActorRequest {
    #[serde(default = "version")]
    pub v: u16,
    pub actor_id: String,
}

/// `ctl.{host}.actor.scale`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleActorRequest {
    #[serde(default = "version")]
    pub v: u16,
    pub actor_id: String,
    pub max_concurrent: u32,
}

/// `ctl.{host}.actor.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateActorRequest {
    #[serde(default = "version")]
    pub v: u16,
    pub actor_id: String,
    pub reference: String,
    /// The replica's new config (`None`: keep it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<StringMap>,
    /// The replica's new secrets mapping (`None`: keep it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<StringMap>,
}

/// One actor on one host, with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorDescription {
    pub actor_id: String,
    pub name: String,
    pub version: String,
    pub revision: u32,
    pub issuer: String,
    pub reference: String,
    pub max_concurrent: u32,
    pub annotations: StringMap,
    /// Calls answered, failed ones included.
    pub calls: u64,
    /// Instances made for those calls: as many as calls unless the host
    /// reuses instances (`--reuse`) or shares them among concurrent calls
    /// (WASI 0.3's async exports). Older hosts do not report it (0).
    #[serde(default)]
    pub instances: u64,
    /// Failed calls by error kind (`trapped`, `busy`, …).
    pub failures: BTreeMap<String, u64>,
    pub in_flight: u64,
    /// The verified claims of the version in force (`floe get claims`).
    #[serde(default)]
    pub claims: Option<crate::Claims>,
    #[serde(default)]
    pub state: ReplicaState,
    /// Goes dormant after this many milliseconds without calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_after_ms: Option<u64>,
    /// When its last call began (Unix milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_call_unix_ms: Option<u64>,
    /// Calls that found it dormant and loaded its code.
    #[serde(default)]
    pub cold_starts: u64,
    /// Why its code could not be loaded again, until a load succeeds: the
    /// replica is unhealthy while this is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_failure: Option<String>,
    /// The config its start (or app) gave it; `floe config put` values
    /// stored in the lattice apply over it (`floe get config`). `None`
    /// from a host older than live config, which does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<StringMap>,
    /// The secrets it reads as config: `wasi:config` key → secret name
    /// (names only, never values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<StringMap>,
}
