//! Signed claims: of actors, and of provider archives.
//!
//! An actor is a WebAssembly component carrying a JWT in its
//! [`CLAIMS_SECTION`] custom section. The token is signed by an issuer (an
//! account key, `A…`) and names the actor (its subject, an `M…` key), the
//! sha256 of the component without that section, validity times and the
//! capabilities the actor may import.
//!
//! # Layout
//! - `capability`: the `ns:pkg[/iface]` names claims grant.
//! - `component`: finding, hashing and replacing the claims section.
//! - `token`: the compact EdDSA JWT.
//! - `sign`: producing a signed component.
//! - `signer`: the checks before any signing (issuer, subject, name, window).
//! - `verify`: checking one, with one error per reason.
//! - `provider`: the claims of a provider archive (its binaries' hashes per
//!   target); the archive itself is [`crate::archive`].

mod capability;
mod component;
pub mod imports;
mod provider;
mod sign;
mod signer;
pub(crate) mod token;
mod verify;

use serde::{Deserialize, Serialize};

pub use capability::{Capability, CapabilityError};
pub use component::{CLAIMS_SECTION, ComponentError, format_hash};
pub use provider::{PROVIDER_FORMAT_VERSION, ProviderClaims, ProviderMetadata};
pub use sign::{SignError, SignRequest, existing_claims, sign};
pub use signer::{SignerError, check_signing};
pub use token::TokenError;
pub use verify::{Inspection, VerifyError, VerifyPolicy, check_validity, inspect, verify};

/// Version of the claims format written into every token (`floe.v`).
pub const CLAIMS_FORMAT_VERSION: u32 = 1;

/// The payload of a claims token. Times are seconds since the Unix epoch.
/// `M` is what Floe needs to know about the subject: an actor's
/// [`ActorMetadata`] (the default) or a provider's [`ProviderMetadata`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims<M = ActorMetadata> {
    /// Issuer: the account (`A…`) that signed.
    pub iss: String,
    /// Subject: the actor id (`M…`) or the provider id (`V…`).
    pub sub: String,
    /// Issued at.
    pub iat: u64,
    /// Expires at, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Not valid before, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Unique token id.
    pub jti: String,
    /// What Floe needs to know about the subject.
    pub floe: M,
}

/// The `floe` object of a claims token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorMetadata {
    /// Claims format version ([`CLAIMS_FORMAT_VERSION`]).
    pub v: u32,
    /// `sha256:HEX` of the component without its claims section.
    pub hash: String,
    /// Human name of the actor.
    pub name: String,
    /// Release version, free-form (usually semver).
    pub version: String,
    /// Monotonic revision number.
    pub revision: u32,
    /// Interfaces or packages the actor may import.
    #[serde(default)]
    pub caps: Vec<Capability>,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Claims {
    /// True when some capability grants the import `ns:pkg/iface[@v]`.
    pub fn grants(&self, import: &str) -> bool {
        self.floe.caps.iter().any(|c| c.grants(import))
    }
}

#[cfg(test)]
mod tests;
