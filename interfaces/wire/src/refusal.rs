//! Why a control request was refused: a stable [`ControlCode`] beside the
//! message, like [`crate::ErrorKind`] on invocations. Programs (the CLI's
//! exit status, the reconciler) act on the code; people read the message.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable code of a control refusal (docs/protocol.md, "Refusals").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlCode {
    /// The request is malformed or asks for something impossible.
    BadRequest,
    /// The request speaks a newer control protocol than this host.
    UnsupportedVersion,
    /// The actor or provider named does not run on this host.
    NotFound,
    /// The reference names no artifact (no such file, tag or digest).
    NoArtifact,
    /// The artifact exists but cannot run: not signed, tampered, expired,
    /// the wrong kind, or a component this host cannot load.
    InvalidArtifact,
    /// The artifact's issuer is not one this host trusts.
    Unauthorized,
    /// Something else holds what the request asks for.
    Conflict,
    /// The host is stopping: ask another host.
    Stopping,
    /// The host or the lattice cannot serve it now: try again.
    Unavailable,
    /// A provider process did not start or never became healthy.
    StartFailed,
    /// A secret the start names is missing, does not allow the actor, or
    /// cannot be opened on this host (it lacks the secrets key).
    Secret,
    /// The host failed; not the request's fault.
    Internal,
    /// A code this release does not know (sent by a newer host).
    #[serde(other)]
    Unknown,
}

impl ControlCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlCode::BadRequest => "bad_request",
            ControlCode::UnsupportedVersion => "unsupported_version",
            ControlCode::NotFound => "not_found",
            ControlCode::NoArtifact => "no_artifact",
            ControlCode::InvalidArtifact => "invalid_artifact",
            ControlCode::Unauthorized => "unauthorized",
            ControlCode::Conflict => "conflict",
            ControlCode::Stopping => "stopping",
            ControlCode::Unavailable => "unavailable",
            ControlCode::StartFailed => "start_failed",
            ControlCode::Secret => "secret",
            ControlCode::Internal => "internal",
            ControlCode::Unknown => "unknown",
        }
    }

    /// Whether the same request may succeed later or on another host
    /// unchanged (the reconciler retries these without blaming the host).
    pub fn is_transient(self) -> bool {
        matches!(self, ControlCode::Stopping | ControlCode::Unavailable)
    }
}

impl fmt::Display for ControlCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused control request: its code and the reason, for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: ControlCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ControlCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_strings_and_unknown_ones_decode() {
        for (code, text) in [
            (ControlCode::BadRequest, "bad_request"),
            (ControlCode::NoArtifact, "no_artifact"),
            (ControlCode::StartFailed, "start_failed"),
        ] {
            assert_eq!(code.as_str(), text);
            assert_eq!(
                serde_json::to_string(&code).expect("encodes"),
                format!("\"{text}\"")
            );
        }
        let newer: ControlCode = serde_json::from_str("\"quota_exceeded\"").expect("decodes");
        assert_eq!(newer, ControlCode::Unknown);
    }
}
