//! Control messages about providers: start, stop, and how a provider
//! replica is described.

use serde::{Deserialize, Serialize};

use super::{StringMap, version};

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
