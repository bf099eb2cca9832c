//! Resolving an artifact reference to bytes: an absolute file path on the
//! host's machine (optionally `file://…`), or an artifact in the lattice
//! (`floe://sha256:HEX`, `floe://NAME:TAG`) fetched from the object store,
//! checked against its digest, and cached under `$FLOE_HOME/cache/artifacts`
//! (checked again when read back).

use std::path::{Path, PathBuf};

use floe_wire::artifact::{self, ArtifactRef};
use tokio::io::AsyncReadExt as _;

use crate::host::HostCore;

/// The bytes `reference` names.
pub async fn resolve(core: &HostCore, reference: &str) -> Result<Vec<u8>, String> {
    match ArtifactRef::parse(reference) {
        None => read(reference).await,
        Some(Err(e)) => Err(e.to_string()),
        Some(Ok(ArtifactRef::Digest(hex))) => fetch(core, &hex).await,
        Some(Ok(ArtifactRef::Tag { name, tag })) => {
            let kv = floe_lattice::open_bucket(&core.nats, &core.lattice)
                .await
                .map_err(|e| e.to_string())?;
            let found = floe_lattice::artifacts::read_tag(&kv, &core.auth, &name, &tag)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    floe_lattice::artifacts::ArtifactError::NotFound(reference.to_owned())
                        .to_string()
                })?;
            fetch(core, &found.digest).await
        }
    }
}

fn cache_path(core: &HostCore, hex: &str) -> PathBuf {
    core.home
        .root()
        .join("cache")
        .join("artifacts")
        .join(artifact::object_name(hex))
}

/// The artifact with digest `hex`: from this host's cache when its bytes
/// still match, else from the lattice's object store.
async fn fetch(core: &HostCore, hex: &str) -> Result<Vec<u8>, String> {
    let cached = cache_path(core, hex);
    if let Ok(bytes) = tokio::fs::read(&cached).await {
        if floe_lattice::artifacts::digest_hex(&bytes) == hex {
            return Ok(bytes);
        }
        tracing::warn!(path = %cached.display(), "a cached artifact does not match its digest: fetching it again");
    }
    let store = floe_lattice::artifacts::open_store(&core.nats, &core.lattice)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = floe_lattice::artifacts::fetch(&store, hex, MAX_ARTIFACT)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = save(&cached, &bytes).await {
        tracing::warn!(path = %cached.display(), "cannot cache artifact: {e}");
    }
    Ok(bytes)
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

/// Largest artifact a host reads (a Python component is ~18 MB).
const MAX_ARTIFACT: u64 = 256 << 20;

async fn read(reference: &str) -> Result<Vec<u8>, String> {
    let path = reference.strip_prefix("file://").unwrap_or(reference);
    let path = Path::new(path);
    if !path.is_absolute() {
        return Err(format!(
            "`{reference}` is not an absolute path on this host (the CLI makes paths absolute; pass one when calling the control API)"
        ));
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Check the file actually opened (not the path again), then read at most
    // one byte past the limit, so a growing or special file cannot make the
    // host read without bound.
    let meta = file
        .metadata()
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(MAX_ARTIFACT)).unwrap_or(0));
    file.take(MAX_ARTIFACT + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_ARTIFACT {
        return Err(format!(
            "{} is larger than the {MAX_ARTIFACT} bytes a host accepts",
            path.display()
        ));
    }
    Ok(bytes)
}
