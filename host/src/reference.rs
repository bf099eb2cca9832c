//! Resolving an artifact reference to bytes. For now a reference is an
//! absolute file path on the host's machine (optionally `file://…`);
//! artifacts in the lattice's object store come with a later release.

use std::path::Path;

use tokio::io::AsyncReadExt as _;

/// Largest artifact a host reads (a Python component is ~18 MB).
const MAX_ARTIFACT: u64 = 256 << 20;

pub async fn read(reference: &str) -> Result<Vec<u8>, String> {
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
