//! The compact JWT that carries claims: `base64url(header).base64url(payload).
//! base64url(signature)`, EdDSA over ed25519 with the issuer's nkey. The
//! payload is an actor's [`Claims`] or a provider archive's
//! [`ProviderClaims`](super::ProviderClaims).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nkeys::KeyPair;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The JOSE header every Floe token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
}

const ALG: &str = "EdDSA";
const TYP: &str = "JWT";

/// Why a token cannot be read (before any signature check).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not three base64url parts separated by dots")]
    Shape,
    #[error("the token is not UTF-8")]
    NotUtf8,
    #[error("the token header is not valid: {0}")]
    Header(String),
    #[error("unsupported signing algorithm `{0}` (expected EdDSA)")]
    Algorithm(String),
    #[error("the token payload is not valid claims: {0}")]
    Payload(String),
    #[error("the token signature is not 64 bytes of base64url")]
    Signature,
    #[error("the issuer key could not sign: {0}")]
    Signing(String),
}

/// A token split into its checked parts; the signature is not verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedToken<C> {
    pub claims: C,
    signing_input: String,
    signature: Vec<u8>,
}

impl<C> DecodedToken<C> {
    /// True when the signature verifies under `issuer`.
    pub fn signature_valid(&self, issuer: &KeyPair) -> bool {
        issuer
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}

/// Encodes and signs `claims` with `issuer`.
pub fn encode<C: Serialize>(claims: &C, issuer: &KeyPair) -> Result<String, TokenError> {
    let header = Header {
        alg: ALG.to_owned(),
        typ: TYP.to_owned(),
    };
    let header = serde_json::to_vec(&header).map_err(|e| TokenError::Header(e.to_string()))?;
    let payload = serde_json::to_vec(claims).map_err(|e| TokenError::Payload(e.to_string()))?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = issuer
        .sign(signing_input.as_bytes())
        .map_err(|e| TokenError::Signing(e.to_string()))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Splits and parses a token without checking its signature.
pub fn decode<C: DeserializeOwned>(token: &[u8]) -> Result<DecodedToken<C>, TokenError> {
    let token = std::str::from_utf8(token).map_err(|_| TokenError::NotUtf8)?;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Shape);
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Shape)?;
    let parsed: Header =
        serde_json::from_slice(&header_bytes).map_err(|e| TokenError::Header(e.to_string()))?;
    if parsed.alg != ALG {
        return Err(TokenError::Algorithm(parsed.alg));
    }
    let payload_bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Shape)?;
    let claims: C =
        serde_json::from_slice(&payload_bytes).map_err(|e| TokenError::Payload(e.to_string()))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Signature)?;
    if signature.len() != 64 {
        return Err(TokenError::Signature);
    }
    Ok(DecodedToken {
        claims,
        signing_input: format!("{header}.{payload}"),
        signature,
    })
}
