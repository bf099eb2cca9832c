//! Compiled code cached on disk, keyed by the artifact's sha256 and the
//! engine's compatibility hash, so a restart does not recompile.
//!
//! Deserializing compiled code is `unsafe`: whoever can write the cache can
//! run native code in the host, bypassing claims. So the cache directory is
//! created mode 0700, and a directory that others can write is refused.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::{CacheError, RuntimeError};

#[derive(Debug)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    pub fn open(engine: &Engine, root: Option<PathBuf>) -> Result<Self, RuntimeError> {
        let Some(root) = root else {
            return Ok(CompileCache { dir: None });
        };
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("{:016x}", hasher.finish()));
        create_private_dir(&dir).map_err(|reason| RuntimeError::Cache {
            path: dir.clone(),
            reason,
        })?;
        Ok(CompileCache { dir: Some(dir) })
    }

    /// The component for `bytes` (whose sha256 hex is `digest`): from the
    /// cache when present, else compiled and stored. Without `bytes`, only
    /// from the cache: `Ok(None)` when it does not hold the code.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: Option<&[u8]>,
        digest: &str,
    ) -> Result<Option<(Component, bool)>, wasmtime::Error> {
        let Some(dir) = &self.dir else {
            return bytes
                .map(|b| Ok((Component::new(engine, b)?, false)))
                .transpose();
        };
        let path = dir.join(format!("{digest}.cwasm"));
        if path.is_file() && file_is_ours(&path) {
            match deserialize(engine, &path) {
                Ok(component) => return Ok(Some((component, true))),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable cache entry");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let component = Component::new(engine, bytes)?;
        if let Err(e) = store(&component, dir, &path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache compiled code");
            return Ok(Some((component, false)));
        }
        // Serve from the file just written: its code is mapped from the page
        // cache and only the pages a call touches become resident, where the
        // freshly compiled copy would stay resident in anonymous memory.
        match deserialize(engine, &path) {
            Ok(mapped) => Ok(Some((mapped, false))),
            Err(_) => Ok(Some((component, false))),
        }
    }
}

/// A cache entry is used only if this user wrote it and nobody else can.
#[cfg(unix)]
fn file_is_ours(path: &Path) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (Ok(meta), Ok(me)) = (
        std::fs::symlink_metadata(path),
        owner_uid(Path::new("/proc/self")),
    ) else {
        return false;
    };
    meta.is_file() && meta.uid() == me && meta.permissions().mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn file_is_ours(_: &Path) -> bool {
    true
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> Result<Component, wasmtime::Error> {
    // SAFETY: the file lives in a directory this process created with mode
    // 0700 and checked is not writable by anyone else (`create_private_dir`),
    // and it was written by `store` from code this engine compiled.
    // wasmtime also checks the engine compatibility header.
    unsafe { Component::deserialize_file(engine, path) }
}

fn store(component: &Component, dir: &Path, path: &Path) -> Result<(), CacheError> {
    let bytes = component
        .serialize()
        .map_err(|e| CacheError::Serialize(e.to_string()))?;
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CacheError::Io(e)
    })
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), CacheError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // Whoever can write to the directory or to any directory above it could
    // swap in native code; every one of them must be ours or root's and not
    // writable by others (a sticky directory such as /tmp is allowed above).
    let me = owner_uid(Path::new("/proc/self"))?;
    let canonical = std::fs::canonicalize(dir)?;
    for d in canonical.ancestors() {
        check_trusted(d, me, d == canonical)?;
    }
    Ok(())
}

#[cfg(unix)]
fn owner_uid(path: &Path) -> Result<u32, CacheError> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .map(|m| m.uid())
        .map_err(|reason| CacheError::Owner {
            path: path.to_owned(),
            reason,
        })
}

#[cfg(unix)]
fn check_trusted(dir: &Path, me: u32, is_cache: bool) -> Result<(), CacheError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(dir)?;
    let mode = meta.permissions().mode();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(CacheError::OtherUser(dir.to_owned()));
    }
    let writable_by_others = mode & 0o022 != 0;
    let sticky = mode & 0o1000 != 0;
    if writable_by_others && (is_cache || !sticky) {
        return Err(CacheError::Writable(dir.to_owned()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), CacheError> {
    Ok(std::fs::create_dir_all(dir)?)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_cache_others_can_write_is_refused() {
        let engine = Engine::default();
        let root = tempfile::tempdir().expect("tempdir");
        assert!(CompileCache::open(&engine, Some(root.path().join("ok"))).is_ok());
        let open = root.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = CompileCache::open(&engine, Some(open.join("cache"))).expect_err("refused");
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
    }
}
