//! What the lattice's KV bucket holds about apps, each entry sealed:
//! - `apphead.{name}`: the current version's sequence number, or that the
//!   app is being deleted ([`AppHead`]);
//! - `appver.{name}.{seq}`: every version applied, kept for history and
//!   rollback ([`AppVersion`]);
//! - `appstatus.{name}`: what the leader last found ([`AppStatus`]).
//!
//! What an app starts carries [`APP_ANNOTATION`] and
//! [`COMPONENT_ANNOTATION`], so the reconciler finds (and `app delete`
//! removes) exactly what the app owns.

use serde::{Deserialize, Serialize};

use super::AppManifest;

/// Annotation naming the app that owns an actor, provider or link.
pub const APP_ANNOTATION: &str = "floe.app";
/// Annotation naming the app component an actor or provider is.
pub const COMPONENT_ANNOTATION: &str = "floe.app.component";

pub const HEAD_PREFIX: &str = "apphead.";
pub const STATUS_PREFIX: &str = "appstatus.";
const VERSION_PREFIX: &str = "appver.";

/// 1 to 63 of `[a-z0-9-]`, starting with a letter or digit (also a valid
/// NATS key token).
pub fn valid_app_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().next().is_some_and(|b| b != b'-')
}

pub fn head_key(name: &str) -> String {
    format!("{HEAD_PREFIX}{name}")
}

pub fn status_key(name: &str) -> String {
    format!("{STATUS_PREFIX}{name}")
}

pub fn version_prefix(name: &str) -> String {
    format!("{VERSION_PREFIX}{name}.")
}

pub fn version_key(name: &str, seq: u64) -> String {
    format!("{VERSION_PREFIX}{name}.{seq}")
}

/// Which version of an app is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppHead {
    pub name: String,
    /// The sequence number of the current version.
    pub seq: u64,
    /// Set by `app delete`: the leader removes what the app owns, then the
    /// app's entries.
    #[serde(default)]
    pub deleting: bool,
}

/// One applied version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppVersion {
    /// 1, 2, … in the order applied (a rollback applies an old manifest as a
    /// new sequence number).
    pub seq: u64,
    pub manifest: AppManifest,
    /// Unix seconds.
    pub applied_at: u64,
    /// Set when this version was a rollback to an earlier one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppState {
    /// Everything the manifest asks for runs.
    Deployed,
    /// The leader is still starting, stopping or linking things.
    Reconciling,
    /// It cannot be made true as things stand (the reason says why).
    Failed,
    /// `app delete` is removing it.
    Deleting,
}

impl AppState {
    pub fn as_str(self) -> &'static str {
        match self {
            AppState::Deployed => "deployed",
            AppState::Reconciling => "reconciling",
            AppState::Failed => "failed",
            AppState::Deleting => "deleting",
        }
    }
}

/// What the leader last found for an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    pub name: String,
    /// The version it reconciled towards.
    pub seq: u64,
    pub version: String,
    pub state: AppState,
    /// What is still missing or wrong, one line each.
    #[serde(default)]
    pub missing: Vec<String>,
    /// For `failed`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The host that leads the reconciler.
    pub leader: String,
    /// Unix milliseconds.
    pub updated_at_ms: u64,
}
