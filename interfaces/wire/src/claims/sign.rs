//! Producing a signed component: strip any old claims section, hash what is
//! left, and append a new section with a token signed by the issuer.

use nkeys::KeyPair;

use super::component::{self, ComponentError};
use super::signer::{SignerError, check_signing};
use super::token::{self, TokenError};
use super::{ActorMetadata, CLAIMS_FORMAT_VERSION, Capability, Claims};
use crate::keys::KeyKind;

/// What to sign into a component.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    /// The issuer's account key pair (needs its seed).
    pub issuer: &'a KeyPair,
    /// The actor id (`M…`) the claims name.
    pub subject: String,
    pub name: String,
    pub version: String,
    pub revision: u32,
    pub caps: Vec<Capability>,
    pub tags: Vec<String>,
    /// Issued-at, seconds since the epoch.
    pub now: u64,
    pub not_before: Option<u64>,
    pub expires: Option<u64>,
}

/// Why a component could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("not a valid component: {0}")]
    NotAComponent(#[from] ComponentError),
    #[error("not a valid component: {0}")]
    Invalid(String),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Signs `component` and returns the signed bytes. The component is fully
/// validated first, so a signed file is always a loadable component.
pub fn sign(component_bytes: &[u8], request: &SignRequest<'_>) -> Result<Vec<u8>, SignError> {
    let parts = component::split(component_bytes)?;
    let mut stripped = parts.stripped(component_bytes);
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&stripped)
        .map_err(|e| SignError::Invalid(e.to_string()))?;
    check_signing(
        request.issuer,
        &request.subject,
        KeyKind::Actor,
        &request.name,
        request.not_before,
        request.expires,
    )?;
    let claims = Claims {
        iss: request.issuer.public_key(),
        sub: request.subject.clone(),
        iat: request.now,
        exp: request.expires,
        nbf: request.not_before,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        floe: ActorMetadata {
            v: CLAIMS_FORMAT_VERSION,
            hash: component::format_hash(&parts.code_hash),
            name: request.name.clone(),
            version: request.version.clone(),
            revision: request.revision,
            caps: request.caps.clone(),
            tags: request.tags.clone(),
        },
    };
    let token = token::encode(&claims, request.issuer)?;
    component::append_claims(&mut stripped, token.as_bytes());
    Ok(stripped)
}

/// The claims already embedded in a component, unverified, when it has a
/// readable token. Re-signing uses this to keep the actor id.
pub fn existing_claims(component_bytes: &[u8]) -> Result<Option<Claims>, ComponentError> {
    let parts = component::split(component_bytes)?;
    Ok(parts
        .tokens
        .last()
        .and_then(|t| token::decode::<Claims>(t).ok())
        .map(|d| d.claims))
}
