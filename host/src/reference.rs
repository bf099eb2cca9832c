//! Resolving an artifact reference to bytes. For now a reference is an
//! absolute file path on the host's machine (optionally `file://…`);
//! artifacts in the lattice's object store come with a later release.

use std::path::Path;

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
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if meta.len() > MAX_ARTIFACT {
        return Err(format!(
            "{} is {} bytes, more than the {} bytes a host accepts",
            path.display(),
            meta.len(),
            MAX_ARTIFACT
        ));
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}
