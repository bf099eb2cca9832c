//! [`CtlError`]: why a control request or call failed, and the exit
//! status each cause gives the CLI (docs/cli.md, "Exit statuses").

use std::time::Duration;

use floe_lattice::RequestFailure;
use floe_wire::control::{ControlCode, Refusal};
use floe_wire::{InvocationError, LatticeId};

/// Why a control request or call failed.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error(
        "cannot connect to NATS at {url}: {reason} (is a lattice running? start one with `floe up`, or pass --nats-url)"
    )]
    Connect { url: String, reason: String },
    #[error("request on {subject} failed: {reason}")]
    Request { subject: String, reason: String },
    #[error(
        "no host answered on {subject} within {waited:?} (is the host still running? see `floe get hosts`)"
    )]
    Timeout { subject: String, waited: Duration },
    /// A host refused the request; the code says why.
    #[error("{0}")]
    Refused(Refusal),
    /// The lattice's KV bucket or object store failed.
    #[error("{0}")]
    Store(String),
    #[error("malformed reply on {subject}: {reason}")]
    Malformed { subject: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("`{name}` matches several {what}: {candidates}; pass an id instead")]
    Ambiguous {
        name: String,
        what: &'static str,
        candidates: String,
    },
    #[error("{}", .0.chain())]
    Invocation(InvocationError),
    #[error(
        "no cluster seed for lattice {lattice}: every message on a lattice is authenticated with a key derived from it. \
         Pass --cluster-seed SC… or set FLOE_CLUSTER_SEED (the host that generated it logged where it saved it, \
         by default $FLOE_HOME/keys/cluster.nk on its machine)"
    )]
    NoSeed { lattice: LatticeId },
    #[error("cannot read the cluster seed: {0}")]
    Seed(String),
    #[error(
        "{0} (is this client using the same cluster seed as the lattice's hosts? see `--cluster-seed`)"
    )]
    Unauthorized(String),
    #[error(
        "{count} entr{} of lattice {lattice} {} sealed under another cluster key, and none under this client's: \
         is this the lattice's seed? Pass the hosts' seed with --cluster-seed or FLOE_CLUSTER_SEED",
        if *count == 1 { "y" } else { "ies" },
        if *count == 1 { "is" } else { "are" }
    )]
    ForeignSeed { lattice: LatticeId, count: u64 },
}

impl CtlError {
    pub(crate) fn from_request(e: RequestFailure, what: impl FnOnce() -> String) -> Self {
        match e {
            RequestFailure::NoResponders(_) => CtlError::NotFound(what()),
            RequestFailure::TimedOut { rejected: 1.., .. } => CtlError::Unauthorized(e.to_string()),
            RequestFailure::TimedOut {
                subject, waited, ..
            } => CtlError::Timeout { subject, waited },
            RequestFailure::Nats { subject, reason } => CtlError::Request { subject, reason },
        }
    }
}

impl CtlError {
    /// The control code of this failure, as a host would have given it.
    pub fn code(&self) -> ControlCode {
        match self {
            CtlError::Refused(refusal) => refusal.code,
            CtlError::NotFound(_) => ControlCode::NotFound,
            CtlError::Ambiguous { .. } => ControlCode::BadRequest,
            CtlError::Unauthorized(_)
            | CtlError::NoSeed { .. }
            | CtlError::Seed(_)
            | CtlError::ForeignSeed { .. } => ControlCode::Unauthorized,
            CtlError::Connect { .. }
            | CtlError::Request { .. }
            | CtlError::Timeout { .. }
            | CtlError::Store(_) => ControlCode::Unavailable,
            CtlError::Malformed { .. } | CtlError::Invocation(_) => ControlCode::Internal,
        }
    }

    /// The CLI's exit status for this failure (docs/cli.md).
    pub fn exit_status(&self) -> u8 {
        exit_status(self.code())
    }
}

/// The CLI's exit status for a refusal's code: 1 a failure without a more
/// precise status, 2 a bad request (as for bad flags), 3 nothing found by
/// that name or reference, 4 an artifact that cannot run, 5 not allowed
/// (issuer, seed, a secret), 6 a conflict, 7 try again later or elsewhere.
pub fn exit_status(code: ControlCode) -> u8 {
    match code {
        ControlCode::BadRequest | ControlCode::UnsupportedVersion => 2,
        ControlCode::NotFound | ControlCode::NoArtifact => 3,
        ControlCode::InvalidArtifact => 4,
        ControlCode::Unauthorized | ControlCode::Secret => 5,
        ControlCode::Conflict => 6,
        ControlCode::Stopping | ControlCode::Unavailable => 7,
        ControlCode::StartFailed | ControlCode::Internal | ControlCode::Unknown => 1,
    }
}
