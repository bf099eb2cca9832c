//! Control-plane messages (JSON): the requests the CLI sends to hosts on
//! `ctl.…` subjects and the replies they get.
//!
//! Every reply has the shape `{ "accepted": bool, "error": string|null,
//! "code": string (when refused), …payload }`; every request and reply
//! carries the protocol version `v`.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::envelope::PayloadRef;

pub use crate::refusal::{ControlCode, Refusal};

/// The control protocol version this release speaks.
pub const CONTROL_VERSION: u16 = 1;

fn version() -> u16 {
    CONTROL_VERSION
}

/// Labels and annotations: ordered string maps.
pub type StringMap = BTreeMap<String, String>;

/// A control reply: accepted with a payload, or refused with a reason and
/// its stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlReply<T> {
    #[serde(default = "version")]
    pub v: u16,
    pub accepted: bool,
    pub error: Option<String>,
    /// Why it was refused, for programs (absent from hosts before codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ControlCode>,
    #[serde(flatten)]
    pub payload: Option<T>,
}

impl<T> ControlReply<T> {
    pub fn ok(payload: T) -> Self {
        ControlReply {
            v: CONTROL_VERSION,
            accepted: true,
            error: None,
            code: None,
            payload: Some(payload),
        }
    }

    pub fn refused(refusal: Refusal) -> Self {
        ControlReply {
            v: CONTROL_VERSION,
            accepted: false,
            error: Some(refusal.message),
            code: Some(refusal.code),
            payload: None,
        }
    }

    /// The payload when accepted, else why not (a reply without a code, from
    /// an older host, reads as [`ControlCode::Unknown`]).
    pub fn into_result(self) -> Result<T, Refusal> {
        let code = self.code.unwrap_or(ControlCode::Unknown);
        match (self.accepted, self.payload, self.error) {
            (true, Some(p), _) => Ok(p),
            (_, _, Some(e)) => Err(Refusal::new(code, e)),
            (true, None, None) => Err(Refusal::new(
                ControlCode::Internal,
                "the host accepted but sent no payload",
            )),
            (false, _, None) => Err(Refusal::new(code, "the host refused without a reason")),
        }
    }
}

/// A control reply too large for one NATS message: accepted, and its whole
/// body (a [`ControlReply`]) waits in the lattice's payload store under
/// `spilled`, whose digest and size the sealed reply carries. The reader
/// takes (and removes) it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpilledReply {
    #[serde(default = "version")]
    pub v: u16,
    pub accepted: bool,
    pub spilled: PayloadRef,
}

impl SpilledReply {
    pub fn new(spilled: PayloadRef) -> Self {
        SpilledReply {
            v: CONTROL_VERSION,
            accepted: true,
            spilled,
        }
    }
}

/// Where the body of `reply` waits, when it is a [`SpilledReply`].
pub fn spilled(reply: &[u8]) -> Option<PayloadRef> {
    #[derive(Deserialize)]
    struct Probe {
        spilled: Option<PayloadRef>,
    }
    // A spilled reply is a few hundred bytes: a large one is the body itself.
    if reply.len() > 1024 {
        return None;
    }
    serde_json::from_slice::<Probe>(reply).ok()?.spilled
}

/// Parses a control message, naming what was wrong with it.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(bytes).map_err(|e| {
        Refusal::new(
            ControlCode::BadRequest,
            format!("malformed control message: {e}"),
        )
    })
}

/// Refuses a control message written by a newer protocol than this
/// release speaks (its `v`, when present, is checked before anything else).
pub fn check_version(bytes: &[u8]) -> Result<(), Refusal> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        v: u16,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(Probe { v }) if v > CONTROL_VERSION => Err(Refusal::new(
            ControlCode::UnsupportedVersion,
            format!(
                "unsupported control protocol version {v} (this host speaks {CONTROL_VERSION}); upgrade the host"
            ),
        )),
        // Malformed bodies are reported by the typed parse that follows.
        _ => Ok(()),
    }
}

/// An empty payload for replies that carry nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

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

/// `ctl.{host}.provider.start`: run a provider on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartProviderRequest {
    #[serde(default = "version")]
    pub v: u16,
    /// A signed provider archive (`floe://…`, or a path on the host's
    /// machine), or, for development, a plain executable's path.
    pub reference: String,
    /// A plain executable's identity: a provider seed (`SV…`) or the name of
    /// a key saved on the host; default: the key saved under the binary's
    /// name (created on first use), so the id survives restarts. Refused with
    /// an archive, whose claims name the provider.
    #[serde(default)]
    pub provider_key: Option<String>,
    #[serde(default)]
    pub config: StringMap,
    #[serde(default)]
    pub annotations: StringMap,
    /// Secrets handed to the provider on stdin: key → secret name (the
    /// secret's allow-list must name the provider's id).
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub secrets: StringMap,
}

/// The reply to a provider start: what now runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStarted {
    pub provider_id: String,
    pub name: String,
    /// The account that signed its archive; `None` for a plain executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The archive's release version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub host_id: String,
    /// True when the provider already ran on this host.
    #[serde(default)]
    pub already_running: bool,
}

/// `ctl.{host}.provider.stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopProviderRequest {
    #[serde(default = "version")]
    pub v: u16,
    pub provider_id: String,
}

/// How a provider replica is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderHealth {
    /// Started, not yet answering health checks.
    Starting,
    Healthy,
    /// Running but failing (or not answering) health checks.
    Unhealthy,
    /// Exited; waiting to be started again.
    Restarting,
}

/// One provider replica on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderDescription {
    pub provider_id: String,
    pub name: String,
    pub reference: String,
    /// The verified claims of its archive; `None` for a plain executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<crate::claims::ProviderClaims>,
    /// The target triple of the binary it runs (from its archive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub health: ProviderHealth,
    /// Times the host started it again after it exited.
    pub restarts: u32,
    pub pid: Option<u32>,
    pub annotations: StringMap,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_have_the_documented_shape() {
        let ok = ControlReply::ok(Labels {
            labels: StringMap::from([("zone".to_owned(), "a".to_owned())]),
        });
        let json = serde_json::to_value(&ok).expect("json");
        assert_eq!(json["accepted"], true);
        assert!(json["error"].is_null());
        assert_eq!(json["labels"]["zone"], "a");
        assert!(json.get("code").is_none());
        let back: ControlReply<Labels> = serde_json::from_value(json).expect("parse");
        assert_eq!(back.into_result().expect("ok").labels["zone"], "a");

        let refused: ControlReply<Labels> =
            ControlReply::refused(Refusal::new(ControlCode::NotFound, "no such actor"));
        let json = serde_json::to_value(&refused).expect("json");
        assert_eq!(json["accepted"], false);
        assert_eq!(json["error"], "no such actor");
        assert_eq!(json["code"], "not_found");
        let back: ControlReply<Labels> = serde_json::from_value(json).expect("parse");
        assert_eq!(
            back.into_result(),
            Err(Refusal::new(ControlCode::NotFound, "no such actor"))
        );
        // A host from before codes: the text, and an unknown code.
        let old: ControlReply<Labels> =
            serde_json::from_str(r#"{"v":1,"accepted":false,"error":"no"}"#).expect("parse");
        assert_eq!(
            old.into_result().expect_err("refused").code,
            ControlCode::Unknown
        );
    }

    #[test]
    fn malformed_requests_are_reported() {
        let err = parse::<StopActorRequest>(b"{\"v\":1}").expect_err("missing field");
        assert!(err.message.contains("actor_id"), "{err}");
        assert_eq!(err.code, ControlCode::BadRequest);
        assert!(parse::<StopActorRequest>(b"\xff").is_err());
        let ok: PingRequest = parse(b"{}").expect("defaults");
        assert_eq!(ok.v, CONTROL_VERSION);
        let newer = check_version(b"{\"v\":99}").expect_err("newer");
        assert!(newer.message.contains("version 99"), "{newer}");
        assert_eq!(newer.code, ControlCode::UnsupportedVersion);
        assert!(check_version(b"{\"v\":1}").is_ok());
        assert!(check_version(b"{}").is_ok());
    }
}
