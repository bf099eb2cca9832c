//! [`Loader`]: from an artifact reference to code ready to serve — fetch,
//! verify the claims, then find the compiled code (shared, in the on-disk
//! compile cache, or compiled now), bounded by the host's load permits. It
//! also wakes a dormant replica: from the compile cache by its code digest
//! when the entry is there, else by fetching and verifying the artifact
//! again, which must still be the same code.

use std::sync::Arc;

use floe_wire::Claims;
use floe_wire::claims::{self, VerifyError, VerifyPolicy};
use floe_wire::control::ControlCode;
use tokio::sync::Semaphore;

use crate::clock::unix_now;
use crate::reference::{Artifacts, FetchError};
use crate::runtime::{LoadError, LoadedActor, Runtime};

/// What a replica is, active or dormant: the version in force.
#[derive(Debug)]
pub struct Version {
    pub claims: Claims,
    pub reference: String,
    /// `sha256` hex of the code: its key in the compile cache.
    pub digest: String,
}

impl Version {
    pub fn of(loaded: &LoadedActor) -> Self {
        Version {
            claims: loaded.claims.clone(),
            reference: loaded.reference.clone(),
            digest: loaded.digest.clone(),
        }
    }
}

/// Why an artifact could not become code that serves.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{0} is a provider archive, not an actor: start it with `floe start provider {0}`")]
    IsArchive(String),
    #[error("{reference} refused: {source}")]
    Refused {
        reference: String,
        source: VerifyError,
    },
    #[error("the host is stopping; start the actor on another host")]
    Stopping,
    #[error("actor {name} cannot start: {source}")]
    Load { name: String, source: LoadError },
    #[error("loading {name} failed: {reason}")]
    LoadTask { name: String, reason: String },
    #[error("loading the code took longer than {0:?}")]
    TimedOut(std::time::Duration),
    #[error(
        "{reference} now holds other code (sha256 {found}, expected {expected}): update the actor to run it"
    )]
    Changed {
        reference: String,
        expected: String,
        found: String,
    },
}

impl LoadFailure {
    /// The control code of this failure (a fetch failure keeps its own).
    pub fn code(&self) -> ControlCode {
        match self {
            LoadFailure::Fetch(fetch) => fetch.code(),
            LoadFailure::Refused {
                source: VerifyError::IssuerNotAllowed { .. },
                ..
            } => ControlCode::Unauthorized,
            LoadFailure::IsArchive(_)
            | LoadFailure::Refused { .. }
            | LoadFailure::Load { .. }
            | LoadFailure::Changed { .. } => ControlCode::InvalidArtifact,
            LoadFailure::Stopping => ControlCode::Stopping,
            LoadFailure::TimedOut(_) => ControlCode::Unavailable,
            LoadFailure::LoadTask { .. } => ControlCode::Internal,
        }
    }
}

/// Fetches, verifies and loads actors' code.
#[derive(Debug, Clone)]
pub struct Loader {
    pub runtime: Runtime,
    pub artifacts: Artifacts,
    /// Components read and compiled at once (shared with provider archives).
    pub loads: Arc<Semaphore>,
    pub policy: VerifyPolicy,
}

impl Loader {
    /// The artifact's bytes and verified claims.
    pub async fn fetch_and_verify(
        &self,
        reference: &str,
    ) -> Result<(Vec<u8>, Claims), LoadFailure> {
        let bytes = self.artifacts.resolve(reference).await?;
        if floe_wire::archive::looks_like_archive(&bytes) {
            return Err(LoadFailure::IsArchive(reference.to_owned()));
        }
        let claims = claims::verify(&bytes, unix_now(), &self.policy).map_err(|source| {
            LoadFailure::Refused {
                reference: reference.to_owned(),
                source,
            }
        })?;
        Ok((bytes, claims))
    }

    /// Loads verified code (`bytes` may be left out when the compile cache
    /// holds it; then a miss is [`LoadError::NotCached`]). Loads that may
    /// compile are bounded by the host's load permits.
    pub async fn load(
        &self,
        bytes: Option<Vec<u8>>,
        claims: Claims,
        reference: String,
    ) -> Result<LoadedActor, LoadFailure> {
        // Only what may compile takes a load permit: code from the cache
        // alone is mapped in milliseconds and never waits behind a compile.
        let _turn = match bytes {
            Some(_) => Some(
                self.loads
                    .acquire()
                    .await
                    .map_err(|_| LoadFailure::Stopping)?,
            ),
            None => None,
        };
        let runtime = self.runtime.clone();
        let name = claims.floe.name.clone();
        tokio::task::spawn_blocking(move || {
            LoadedActor::load(&runtime, bytes.as_deref(), claims, reference)
        })
        .await
        .map_err(|e| LoadFailure::LoadTask {
            name: name.clone(),
            reason: e.to_string(),
        })?
        .map_err(|source| LoadFailure::Load { name, source })
    }

    /// The version of a replica that starts dormant: its code is loaded
    /// once here (compiled into the compile cache when not there yet, its
    /// imports checked against the claims, linked), then freed, so a start
    /// refuses what a call would and the first call maps the code from the
    /// cache.
    pub async fn prepare_dormant(
        &self,
        bytes: Vec<u8>,
        claims: Claims,
        reference: String,
    ) -> Result<Version, LoadFailure> {
        let loaded = self.load(Some(bytes), claims, reference).await?;
        Ok(Version::of(&loaded))
    }

    /// The code of a dormant replica's version: from the compile cache,
    /// else from its artifact fetched and verified again.
    pub async fn wake(&self, version: &Version) -> Result<LoadedActor, LoadFailure> {
        let cached = self
            .load(None, version.claims.clone(), version.reference.clone())
            .await;
        match cached {
            Err(LoadFailure::Load {
                source: LoadError::NotCached,
                ..
            }) => {}
            other => return other,
        }
        tracing::info!(actor = %version.claims.sub, reference = %version.reference, "compiled code not cached: fetching the artifact again");
        let (bytes, claims) = self.fetch_and_verify(&version.reference).await?;
        // `claims` are only checked here: the version's own claims serve.
        let found = LoadedActor::code_digest(&claims, &bytes);
        if found != version.digest || claims.sub != version.claims.sub {
            return Err(LoadFailure::Changed {
                reference: version.reference.clone(),
                expected: version.digest.clone(),
                found,
            });
        }
        // The same code, under the claims it was verified with when started:
        // a wake never widens what the actor may import.
        self.load(
            Some(bytes),
            version.claims.clone(),
            version.reference.clone(),
        )
        .await
    }
}
