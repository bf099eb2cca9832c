//! The claims of a signed provider archive: who issued it, the provider id
//! (its subject, a `V…` key), the interfaces it implements, and the sha256 of
//! the binary it holds for each target triple.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Capability, Claims};

/// Version of the provider claims format (`floe.v`).
pub const PROVIDER_FORMAT_VERSION: u32 = 1;

/// The payload of a provider archive's token.
pub type ProviderClaims = Claims<ProviderMetadata>;

/// The `floe` object of a provider archive's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderMetadata {
    /// Format version ([`PROVIDER_FORMAT_VERSION`]).
    pub v: u32,
    /// The provider's name (what links and `floe get providers` show).
    pub name: String,
    /// Release version, free-form (usually semver).
    pub version: String,
    /// Monotonic revision number.
    pub revision: u32,
    /// Interfaces the provider answers (`ns:pkg/iface`); empty for a provider
    /// that only calls actors, like an HTTP server.
    #[serde(default)]
    pub implements: Vec<Capability>,
    /// `sha256:HEX` of the binary for each target triple
    /// (`x86_64-unknown-linux-gnu` → hash).
    pub targets: BTreeMap<String, String>,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
}
