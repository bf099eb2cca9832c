//! Checking a signed component: one error variant per reason a host refuses
//! it. [`verify`] never panics, whatever the bytes.

use super::Claims;
use super::component::{self, ComponentError};
use super::token::{self, TokenError};
use crate::keys::{self, KeyKind};

/// What a verifier accepts beyond a valid signature and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Issuers (`A…`) whose actors are accepted; empty accepts any issuer.
    pub allowed_issuers: Vec<String>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            allowed_issuers: Vec::new(),
            leeway_secs: 30,
        }
    }
}

/// Why a component is refused. Each reason a host can refuse an actor for
/// its claims has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a component: {0}")]
    NotAComponent(#[from] ComponentError),
    #[error("unsigned: the component carries no claims (sign it with `floe claims sign`)")]
    Unsigned,
    #[error("malformed claims token: {0}")]
    MalformedToken(String),
    #[error("bad signature: the claims were not signed by issuer {issuer} or were altered")]
    BadSignature { issuer: String },
    #[error("tampered: the component's hash is {actual}, but its claims were signed for {signed}")]
    HashMismatch { signed: String, actual: String },
    #[error("expired at {expired_at} (unix seconds); re-sign it with a later expiry")]
    Expired { expired_at: u64 },
    #[error("not yet valid: valid from {valid_from} (unix seconds)")]
    NotYetValid { valid_from: u64 },
    #[error("issuer {issuer} is not on this host's allow-list")]
    IssuerNotAllowed { issuer: String },
}

impl VerifyError {
    /// A stable machine-readable name for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::NotAComponent(_) => "not_a_component",
            VerifyError::Unsigned => "unsigned",
            VerifyError::MalformedToken(_) => "malformed_token",
            VerifyError::BadSignature { .. } => "bad_signature",
            VerifyError::HashMismatch { .. } => "tampered",
            VerifyError::Expired { .. } => "expired",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::IssuerNotAllowed { .. } => "issuer_not_allowed",
        }
    }
}

impl From<TokenError> for VerifyError {
    fn from(e: TokenError) -> Self {
        VerifyError::MalformedToken(e.to_string())
    }
}

/// Everything known about a component's claims, valid or not: what
/// `floe claims inspect` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The decoded claims (not trustworthy unless `verdict` is `Ok`).
    pub claims: Claims,
    /// `sha256:HEX` of the component without its claims.
    pub actual_hash: String,
    pub signature_valid: bool,
    pub hash_valid: bool,
    /// The result [`verify`] gives for the same bytes and time.
    pub verdict: Result<(), VerifyError>,
}

/// Verifies a signed component at time `now` (seconds since the epoch) and
/// returns its claims.
pub fn verify(bytes: &[u8], now: u64, policy: &VerifyPolicy) -> Result<Claims, VerifyError> {
    let inspection = inspect(bytes, now, policy)?;
    inspection.verdict.map(|()| inspection.claims)
}

/// Decodes a component's claims and checks each property separately. Fails
/// only when there are no claims to show; otherwise the verdict says whether
/// the component would be accepted.
pub fn inspect(bytes: &[u8], now: u64, policy: &VerifyPolicy) -> Result<Inspection, VerifyError> {
    let parts = component::split(bytes)?;
    let token = match parts.tokens.as_slice() {
        [] => return Err(VerifyError::Unsigned),
        [one] => *one,
        _ => {
            return Err(VerifyError::MalformedToken(
                "more than one claims section".to_owned(),
            ));
        }
    };
    let decoded = token::decode::<Claims>(token)?;
    let claims = decoded.claims.clone();
    let issuer = keys::parse_public(&claims.iss, KeyKind::Account)
        .map_err(|e| VerifyError::MalformedToken(format!("iss: {e}")))?;
    keys::parse_public(&claims.sub, KeyKind::Actor)
        .map_err(|e| VerifyError::MalformedToken(format!("sub: {e}")))?;
    let signature_valid = decoded.signature_valid(&issuer);
    let actual_hash = component::format_hash(&parts.code_hash);
    let hash_valid = actual_hash == claims.floe.hash;
    let verdict = judge(
        &claims,
        signature_valid,
        &actual_hash,
        hash_valid,
        now,
        policy,
    );
    Ok(Inspection {
        claims,
        actual_hash,
        signature_valid,
        hash_valid,
        verdict,
    })
}

fn judge(
    claims: &Claims,
    signature_valid: bool,
    actual_hash: &str,
    hash_valid: bool,
    now: u64,
    policy: &VerifyPolicy,
) -> Result<(), VerifyError> {
    if !signature_valid {
        return Err(VerifyError::BadSignature {
            issuer: claims.iss.clone(),
        });
    }
    if !hash_valid {
        return Err(VerifyError::HashMismatch {
            signed: claims.floe.hash.clone(),
            actual: actual_hash.to_owned(),
        });
    }
    check_validity(claims, now, policy)
}

/// The checks every claims token passes whatever it signs: expiry,
/// not-before (with the policy's leeway) and the issuer allow-list.
pub fn check_validity<M>(
    claims: &Claims<M>,
    now: u64,
    policy: &VerifyPolicy,
) -> Result<(), VerifyError> {
    if let Some(exp) = claims.exp
        && now >= exp.saturating_add(policy.leeway_secs)
    {
        return Err(VerifyError::Expired { expired_at: exp });
    }
    if let Some(nbf) = claims.nbf
        && now.saturating_add(policy.leeway_secs) < nbf
    {
        return Err(VerifyError::NotYetValid { valid_from: nbf });
    }
    if !policy.allowed_issuers.is_empty() && !policy.allowed_issuers.contains(&claims.iss) {
        return Err(VerifyError::IssuerNotAllowed {
            issuer: claims.iss.clone(),
        });
    }
    Ok(())
}
