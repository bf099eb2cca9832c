//! [`Artifacts`]: resolving an artifact reference to bytes — an absolute
//! file path on the host's machine (optionally `file://…`), or an artifact
//! in the lattice (`floe://sha256:HEX`, `floe://NAME:TAG`) fetched from the
//! object store, checked against its digest, and cached under
//! `$FLOE_HOME/cache/artifacts` (checked again when read back).

use std::path::{Path, PathBuf};

use floe_lattice::artifacts::ArtifactError;
use floe_wire::artifact::{self, ArtifactRef};
use floe_wire::control::{ControlCode, Refusal};
use tokio::io::AsyncReadExt as _;

use crate::bus::Bus;

/// Largest artifact a host reads (a Python component is ~18 MB).
const MAX_ARTIFACT: u64 = 256 << 20;

/// Why a reference gave no bytes.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "`{0}` is not an absolute path on this host (the CLI makes paths absolute; pass one when calling the control API)"
    )]
    NotAbsolute(String),
    #[error("{0}")]
    BadReference(#[from] floe_wire::artifact::RefError),
    #[error("cannot read {path}: it does not exist on this host")]
    NoFile { path: String },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0} is not a regular file")]
    NotAFile(String),
    #[error("{path} is larger than the {MAX_ARTIFACT} bytes a host accepts")]
    TooLarge { path: String },
    #[error(transparent)]
    Bucket(#[from] floe_lattice::BucketError),
    #[error(transparent)]
    Lattice(#[from] ArtifactError),
}

impl FetchError {
    /// The control code of this refusal.
    pub fn code(&self) -> ControlCode {
        match self {
            FetchError::NotAbsolute(_) | FetchError::BadReference(_) | FetchError::NotAFile(_) => {
                ControlCode::BadRequest
            }
            FetchError::NoFile { .. } | FetchError::Lattice(ArtifactError::NotFound(_)) => {
                ControlCode::NoArtifact
            }
            FetchError::TooLarge { .. }
            | FetchError::Lattice(ArtifactError::TooLarge { .. } | ArtifactError::Corrupt { .. }) => {
                ControlCode::InvalidArtifact
            }
            FetchError::Bucket(_) | FetchError::Lattice(_) => ControlCode::Unavailable,
            FetchError::Unreadable { .. } => ControlCode::Internal,
        }
    }
}

impl From<FetchError> for Refusal {
    fn from(e: FetchError) -> Self {
        Refusal::new(e.code(), e.to_string())
    }
}

/// Reads artifacts for this host.
#[derive(Debug, Clone)]
pub struct Artifacts {
    bus: Bus,
    /// `$FLOE_HOME/cache`.
    cache: PathBuf,
}

impl Artifacts {
    pub fn new(bus: Bus, cache: PathBuf) -> Self {
        Artifacts { bus, cache }
    }

    /// The bytes `reference` names.
    pub async fn resolve(&self, reference: &str) -> Result<Vec<u8>, FetchError> {
        match ArtifactRef::parse(reference) {
            None => read(reference).await,
            Some(Err(e)) => Err(e.into()),
            Some(Ok(ArtifactRef::Digest(hex))) => self.fetch(&hex).await,
            Some(Ok(ArtifactRef::Tag { name, tag })) => {
                let kv = floe_lattice::open_bucket(self.bus.nats(), self.bus.lattice()).await?;
                let found = floe_lattice::artifacts::read_tag(&kv, self.bus.auth(), &name, &tag)
                    .await?
                    .ok_or_else(|| ArtifactError::NotFound(reference.to_owned()))?;
                self.fetch(&found.digest).await
            }
        }
    }

    /// The artifact with digest `hex`: from this host's cache when its bytes
    /// still match, else from the lattice's object store.
    async fn fetch(&self, hex: &str) -> Result<Vec<u8>, FetchError> {
        let cached = self
            .cache
            .join("artifacts")
            .join(artifact::object_name(hex));
        if let Ok(bytes) = tokio::fs::read(&cached).await {
            if floe_lattice::artifacts::digest_hex(&bytes) == hex {
                return Ok(bytes);
            }
            tracing::warn!(path = %cached.display(), "a cached artifact does not match its digest: fetching it again");
        }
        let store =
            floe_lattice::artifacts::open_store(self.bus.nats(), self.bus.lattice()).await?;
        let bytes = floe_lattice::artifacts::fetch(&store, hex, MAX_ARTIFACT).await?;
        if let Err(e) = save(&cached, &bytes).await {
            tracing::warn!(path = %cached.display(), "cannot cache artifact: {e}");
        }
        Ok(bytes)
    }
}

/// Writes the cache file atomically, in a directory only the host reads.
async fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    tokio::fs::create_dir_all(dir).await?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await?;
    }
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, path).await
}

async fn read(reference: &str) -> Result<Vec<u8>, FetchError> {
    let path = reference.strip_prefix("file://").unwrap_or(reference);
    let path = Path::new(path);
    if !path.is_absolute() {
        return Err(FetchError::NotAbsolute(reference.to_owned()));
    }
    let shown = || path.display().to_string();
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => FetchError::NoFile { path: shown() },
        _ => FetchError::Unreadable {
            path: shown(),
            reason: e.to_string(),
        },
    };
    let file = tokio::fs::File::open(path).await.map_err(unreadable)?;
    // Check the file actually opened (not the path again), then read at most
    // one byte past the limit, so a growing or special file cannot make the
    // host read without bound.
    let meta = file.metadata().await.map_err(unreadable)?;
    if !meta.is_file() {
        return Err(FetchError::NotAFile(shown()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(MAX_ARTIFACT)).unwrap_or(0));
    file.take(MAX_ARTIFACT + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_ARTIFACT {
        return Err(FetchError::TooLarge { path: shown() });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: FetchError) -> ControlCode {
        Refusal::from(e).code
    }

    #[tokio::test]
    async fn paths_are_read_and_refused_with_their_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.wasm");
        std::fs::write(&file, b"bytes").expect("write");
        let path = file.to_str().expect("utf8");
        assert_eq!(read(path).await.expect("read"), b"bytes");
        assert_eq!(
            read(&format!("file://{path}")).await.expect("read"),
            b"bytes"
        );

        let relative = read("a.wasm").await.expect_err("relative");
        assert!(matches!(relative, FetchError::NotAbsolute(_)), "{relative}");
        assert_eq!(code(relative), ControlCode::BadRequest);
        let missing = read(&format!("{path}.gone")).await.expect_err("missing");
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        assert_eq!(code(missing), ControlCode::NoArtifact);
        let directory = read(dir.path().to_str().expect("utf8"))
            .await
            .expect_err("a directory");
        assert_eq!(code(directory), ControlCode::BadRequest);
    }

    #[test]
    fn lattice_failures_map_to_codes() {
        assert_eq!(
            code(FetchError::Lattice(ArtifactError::NotFound(
                "floe://x:1".into()
            ))),
            ControlCode::NoArtifact
        );
        assert_eq!(
            code(FetchError::Lattice(ArtifactError::Corrupt {
                expected: "a".into(),
                actual: "b".into()
            })),
            ControlCode::InvalidArtifact
        );
        assert_eq!(
            code(FetchError::Lattice(ArtifactError::Store {
                bucket: "b".into(),
                reason: "down".into()
            })),
            ControlCode::Unavailable
        );
    }
}
