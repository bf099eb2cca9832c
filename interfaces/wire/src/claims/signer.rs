//! The checks every signing does before it signs, whatever it signs (a
//! component, a provider archive): an account seed as issuer, a subject of
//! the right kind, a name, and a validity window that is not empty.

use nkeys::KeyPair;

use crate::keys::{self, KeyError, KeyKind};

/// Why a signing request is refused before anything is signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    #[error("issuer: {0}")]
    Issuer(KeyError),
    #[error("subject: {0}")]
    Subject(KeyError),
    #[error("the name must not be empty")]
    EmptyName,
    #[error("expiry ({expires}) is not after not-before ({not_before})")]
    EmptyValidity { not_before: u64, expires: u64 },
}

/// Checks a request to sign claims for `subject` (a public key of
/// `subject_kind`) named `name`.
pub fn check_signing(
    issuer: &KeyPair,
    subject: &str,
    subject_kind: KeyKind,
    name: &str,
    not_before: Option<u64>,
    expires: Option<u64>,
) -> Result<(), SignerError> {
    if KeyKind::of(issuer) != Some(KeyKind::Account) || issuer.seed().is_err() {
        return Err(SignerError::Issuer(KeyError::WrongKind {
            expected: KeyKind::Account,
            found: "a key that is not an account seed".to_owned(),
        }));
    }
    keys::parse_public(subject, subject_kind).map_err(SignerError::Subject)?;
    if name.trim().is_empty() {
        return Err(SignerError::EmptyName);
    }
    if let (Some(not_before), Some(expires)) = (not_before, expires)
        && expires <= not_before
    {
        return Err(SignerError::EmptyValidity {
            not_before,
            expires,
        });
    }
    Ok(())
}
