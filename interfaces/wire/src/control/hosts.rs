//! Control messages about hosts: ping, auction, inventory, labels, stop.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::actors::ActorDescription;
use super::providers::ProviderDescription;
use super::{StringMap, version};

/// `ctl.host.ping`: every host answers with its [`HostInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingRequest {
    #[serde(default = "version")]
    pub v: u16,
}

/// What a host says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub host_id: String,
    pub lattice: String,
    /// The floe-host release.
    pub version: String,
    /// The target triple the host runs binaries for (the one it picks out
    /// of a provider archive).
    #[serde(default)]
    pub target: String,
    pub labels: StringMap,
    /// RFC 3339.
    pub started_at: String,
    pub uptime_secs: u64,
    /// How many actors run here.
    pub actors: usize,
    /// How many providers run here.
    #[serde(default)]
    pub providers: usize,
    /// Messages this host refused because their lattice MAC did not hold
    /// (missing, wrong key, altered, replayed), by reason.
    #[serde(default)]
    pub rejected: BTreeMap<String, u64>,
    /// How many hosts this host hears heartbeats from (itself included),
    /// once it has followed them long enough to know; 0 until then. A
    /// client resolving a name stops waiting for answers when as many
    /// hosts as the highest such count have answered.
    #[serde(default)]
    pub lattice_hosts: usize,
    /// The ids (public keys) of the secrets keys this host holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_keys: Vec<String>,
}

/// `ctl.auction.actor`: hosts whose labels carry every constraint bid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuctionRequest {
    #[serde(default = "version")]
    pub v: u16,
    #[serde(default)]
    pub constraints: StringMap,
}

/// One host's bid in an auction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuctionBid {
    pub host_id: String,
    pub labels: StringMap,
    /// How many actors the host runs (fewest wins).
    pub running: usize,
}

/// `ctl.{host}.inventory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRequest {
    #[serde(default = "version")]
    pub v: u16,
}

/// Everything a host runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInventory {
    pub host: HostInfo,
    pub actors: Vec<ActorDescription>,
    #[serde(default)]
    pub providers: Vec<ProviderDescription>,
}

/// `ctl.{host}.stop`: graceful shutdown (in-flight calls get the host's
/// `--shutdown-timeout` to finish).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopHostRequest {
    #[serde(default = "version")]
    pub v: u16,
}

/// `ctl.{host}.label.put`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelPutRequest {
    #[serde(default = "version")]
    pub v: u16,
    pub key: String,
    pub value: String,
}

/// `ctl.{host}.label.del`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelDelRequest {
    #[serde(default = "version")]
    pub v: u16,
    pub key: String,
}

/// The labels a host has after a label change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    pub labels: StringMap,
}
