//! What a provider start runs (DESIGN.md "Providers"): the binary for this
//! host's target out of a signed provider archive — from the lattice
//! (`floe://…`) or a path — verified (signature, hash, validity, issuer
//! allow-list) and installed in a directory only the host can write, with
//! the provider id from the claims' subject; or, for development, a plain
//! executable, whose id is a key kept on the host.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use floe_wire::archive::{self, ArchiveError};
use floe_wire::claims::{ProviderClaims, VerifyError, VerifyPolicy};
use floe_wire::control::{ControlCode, Refusal, StartProviderRequest};
use floe_wire::keys::KeyKind;
use floe_wire::{FloeHome, KeyStoreError};
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;

use crate::clock::unix_now;
use crate::reference::{Artifacts, FetchError};

/// The target triple this host was built for: the binary it runs from an
/// archive (set by `build.rs`).
pub const HOST_TARGET: &str = env!("FLOE_HOST_TARGET");

/// A provider ready to start.
#[derive(Debug)]
pub struct ProviderSource {
    pub id: String,
    pub name: String,
    /// The executable to run.
    pub path: PathBuf,
    /// The verified claims and the target of the binary, when it came from an
    /// archive.
    pub signed: Option<Signed>,
}

#[derive(Debug, Clone)]
pub struct Signed {
    pub claims: ProviderClaims,
    pub target: String,
}

/// Why a provider start has nothing to run.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the host is stopping")]
    Stopping,
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(
        "{0} is an actor component, not a provider archive: start it with `floe start actor {0}`"
    )]
    IsComponent(String),
    #[error("provider archive {reference} refused: {source}")]
    Archive {
        reference: String,
        source: ArchiveError,
    },
    #[error(
        "{reference} is a signed archive: its provider id is its claims' subject ({subject}), so drop --provider-key"
    )]
    KeyForSigned { reference: String, subject: String },
    #[error("cannot open provider archive {reference}: {reason}")]
    Open { reference: String, reason: String },
    #[error("cannot install the provider binary from {reference}: {reason}")]
    Install { reference: String, reason: String },
    #[error(
        "{0} is a plain executable, and this host runs only providers signed by its allowed issuers \
         (--allowed-issuer): package it with `floe provider package` and start the archive"
    )]
    PlainNotAllowed(String),
    #[error(
        "`{0}` is not an absolute path on this host (the CLI makes paths absolute; pass one when calling the control API)"
    )]
    NotAbsolute(String),
    #[error("provider executable {0} does not exist on this host")]
    NoExecutable(String),
    #[error("{0} is not a file")]
    NotAFile(String),
    #[error("{0} is not executable (chmod +x it)")]
    NotExecutable(String),
    #[error("cannot read provider executable {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("provider key: {0}")]
    Key(KeyStoreError),
    #[error("cannot keep a key for provider {name}: {source}")]
    KeepKey { name: String, source: KeyStoreError },
    #[error("cannot read the installed provider {path}: {reason}")]
    Installed { path: String, reason: String },
    #[error(
        "the installed provider {path} changed since it was verified (hash {actual}, signed {expected}); start it again from its archive"
    )]
    Changed {
        path: String,
        actual: String,
        expected: String,
    },
}

impl SourceError {
    /// The control code of this refusal (a fetch failure keeps its own).
    pub fn code(&self) -> ControlCode {
        match self {
            SourceError::Fetch(fetch) => fetch.code(),
            SourceError::Stopping => ControlCode::Stopping,
            SourceError::Archive {
                source: ArchiveError::Claims(VerifyError::IssuerNotAllowed { .. }),
                ..
            }
            | SourceError::PlainNotAllowed(_) => ControlCode::Unauthorized,
            SourceError::IsComponent(_)
            | SourceError::Archive { .. }
            | SourceError::Changed { .. } => ControlCode::InvalidArtifact,
            SourceError::KeyForSigned { .. }
            | SourceError::NotAbsolute(_)
            | SourceError::NotAFile(_)
            | SourceError::NotExecutable(_)
            | SourceError::Key(_) => ControlCode::BadRequest,
            SourceError::NoExecutable(_) => ControlCode::NoArtifact,
            SourceError::Open { .. }
            | SourceError::Install { .. }
            | SourceError::Unreadable { .. }
            | SourceError::KeepKey { .. }
            | SourceError::Installed { .. } => ControlCode::Internal,
        }
    }
}

impl From<SourceError> for Refusal {
    fn from(e: SourceError) -> Self {
        Refusal::new(e.code(), e.to_string())
    }
}

/// Turns provider start requests into what runs.
#[derive(Debug, Clone)]
pub struct Sources {
    artifacts: Artifacts,
    /// Shared with component loads: fetching, unpacking and hashing hold
    /// memory and take a while for big binaries.
    loads: Arc<Semaphore>,
    policy: VerifyPolicy,
    home: FloeHome,
}

impl Sources {
    pub fn new(
        artifacts: Artifacts,
        loads: Arc<Semaphore>,
        policy: VerifyPolicy,
        home: FloeHome,
    ) -> Self {
        Sources {
            artifacts,
            loads,
            policy,
            home,
        }
    }

    /// Resolves a start request to what runs.
    pub async fn prepare(&self, req: &StartProviderRequest) -> Result<ProviderSource, SourceError> {
        let reference = req.reference.as_str();
        let is_artifact = reference.starts_with(floe_wire::artifact::SCHEME);
        if !is_artifact && !starts_like_archive(Path::new(reference)) {
            return self.plain(req);
        }
        let _permit = self
            .loads
            .acquire()
            .await
            .map_err(|_| SourceError::Stopping)?;
        let bytes = self.artifacts.resolve(reference).await?;
        if bytes.starts_with(b"\0asm") {
            return Err(SourceError::IsComponent(reference.to_owned()));
        }
        let refused = |source| SourceError::Archive {
            reference: reference.to_owned(),
            source,
        };
        // Off the runtime.
        let policy = self.policy.clone();
        let opened = tokio::task::spawn_blocking(move || {
            archive::open_for(&bytes, unix_now(), &policy, HOST_TARGET)
        })
        .await
        .map_err(|e| SourceError::Open {
            reference: reference.to_owned(),
            reason: e.to_string(),
        })?
        .map_err(refused)?;
        if req.provider_key.is_some() {
            return Err(SourceError::KeyForSigned {
                reference: reference.to_owned(),
                subject: opened.claims.sub.clone(),
            });
        }
        let (target, binary) = opened.binary_for(HOST_TARGET).map_err(refused)?;
        let path = self
            .install(binary)
            .await
            .map_err(|e| SourceError::Install {
                reference: reference.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(ProviderSource {
            id: opened.claims.sub.clone(),
            name: opened.claims.floe.name.clone(),
            path,
            signed: Some(Signed {
                target: target.to_owned(),
                claims: opened.claims.clone(),
            }),
        })
    }
}

/// True when the file at `path` starts like an archive (a plain executable
/// starts with `\x7fELF` or `#!`). Errors are left to the plain path's
/// checks, which name them.
fn starts_like_archive(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| archive::looks_like_archive(&magic))
}

impl Sources {
    /// A plain executable: its name from the file, its id from a key kept on
    /// the host.
    fn plain(&self, req: &StartProviderRequest) -> Result<ProviderSource, SourceError> {
        let path = check_executable(Path::new(&req.reference))?;
        // Nothing vouches for a plain executable: a host that trusts only some
        // issuers runs only their archives.
        if !self.policy.allowed_issuers.is_empty() {
            return Err(SourceError::PlainNotAllowed(path.display().to_string()));
        }
        tracing::warn!(
            path = %path.display(),
            "starting a provider from a plain path: nothing signs or verifies this executable \
             (for development; package it with `floe provider package`)"
        );
        let name = floe_wire::keystore::sanitize_name(
            &path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "provider".to_owned()),
        );
        let keys = self.home.keys();
        let key = match &req.provider_key {
            Some(name_or_seed) => {
                keys.resolve(name_or_seed, KeyKind::Provider)
                    .map_err(SourceError::Key)?
                    .0
            }
            None => {
                keys.load_or_create(&format!("provider-{name}"), KeyKind::Provider)
                    .map_err(|source| SourceError::KeepKey {
                        name: name.clone(),
                        source,
                    })?
                    .0
            }
        };
        Ok(ProviderSource {
            id: key.public_key(),
            name,
            path,
            signed: None,
        })
    }

    /// Writes a verified binary to `$FLOE_HOME/cache/providers/HASH` (a
    /// directory only the host can read or write), unless the same bytes are
    /// there already, and returns its path.
    async fn install(&self, binary: &[u8]) -> std::io::Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt as _;
        let hex: String = Sha256::digest(binary)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = self.home.root().join("cache").join("providers");
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).await?;
        let path = dir.join(&hex);
        if let Ok(existing) = tokio::fs::read(&path).await
            && existing == binary
        {
            return Ok(path);
        }
        let partial = dir.join(format!("{hex}.partial-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&partial, binary).await?;
        tokio::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o700)).await?;
        tokio::fs::rename(&partial, &path).await?;
        Ok(path)
    }
}

fn check_executable(path: &Path) -> Result<PathBuf, SourceError> {
    use std::os::unix::fs::PermissionsExt as _;
    let shown = || path.display().to_string();
    if !path.is_absolute() {
        return Err(SourceError::NotAbsolute(shown()));
    }
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NoExecutable(shown()),
        _ => SourceError::Unreadable {
            path: shown(),
            reason: e.to_string(),
        },
    })?;
    if !meta.is_file() {
        return Err(SourceError::NotAFile(shown()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(SourceError::NotExecutable(shown()));
    }
    std::fs::canonicalize(path).map_err(|e| SourceError::Unreadable {
        path: shown(),
        reason: e.to_string(),
    })
}

/// Checks that the installed binary at `path` still has the hash its
/// archive signed (a restart runs it again, possibly much later).
pub async fn check_installed(path: &Path, signed: &Signed) -> Result<(), SourceError> {
    let expected = signed
        .claims
        .floe
        .targets
        .get(&signed.target)
        .cloned()
        .unwrap_or_default();
    let file = path.to_owned();
    let unreadable = |reason: String| SourceError::Installed {
        path: path.display().to_string(),
        reason,
    };
    let actual = tokio::task::spawn_blocking(move || {
        std::fs::read(&file)
            .map(|bytes| floe_wire::claims::format_hash(&Sha256::digest(bytes).into()))
    })
    .await
    .map_err(|e| unreadable(e.to_string()))?
    .map_err(|e| unreadable(e.to_string()))?;
    if actual != expected {
        return Err(SourceError::Changed {
            path: path.display().to_string(),
            actual,
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn code(e: SourceError) -> ControlCode {
        Refusal::from(e).code
    }

    #[test]
    fn plain_executables_are_checked_with_a_code_for_each_fault() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("provider");
        std::fs::write(&exe, b"#!/bin/sh\n").expect("write");
        let not_exe = check_executable(&exe).expect_err("mode 0644");
        assert!(not_exe.to_string().contains("chmod +x"), "{not_exe}");
        assert_eq!(code(not_exe), ControlCode::BadRequest);
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(
            check_executable(&exe).expect("runs"),
            exe.canonicalize().expect("path")
        );
        let missing = check_executable(&dir.path().join("gone")).expect_err("missing");
        assert_eq!(code(missing), ControlCode::NoArtifact);
        let relative = check_executable(Path::new("provider")).expect_err("relative");
        assert_eq!(code(relative), ControlCode::BadRequest);
        assert_eq!(
            code(check_executable(dir.path()).expect_err("a directory")),
            ControlCode::BadRequest
        );
    }

    #[test]
    fn trust_failures_are_unauthorized_and_fetches_keep_their_code() {
        assert_eq!(
            code(SourceError::PlainNotAllowed("/p".into())),
            ControlCode::Unauthorized
        );
        assert_eq!(
            code(SourceError::Archive {
                reference: "/p.par.gz".into(),
                source: ArchiveError::Claims(VerifyError::IssuerNotAllowed {
                    issuer: "A…".into()
                }),
            }),
            ControlCode::Unauthorized
        );
        assert_eq!(
            code(SourceError::Archive {
                reference: "/p.par.gz".into(),
                source: ArchiveError::Unsigned,
            }),
            ControlCode::InvalidArtifact
        );
        assert_eq!(
            code(SourceError::Fetch(FetchError::NoFile { path: "/p".into() })),
            ControlCode::NoArtifact
        );
        assert_eq!(code(SourceError::Stopping), ControlCode::Stopping);
    }
}
