//! What a provider start runs (DESIGN.md "Providers"): the binary for this
//! host's target out of a signed provider archive — from the lattice
//! (`floe://…`) or a path — verified (signature, hash, validity, issuer
//! allow-list) and installed in a directory only the host can write, with
//! the provider id from the claims' subject; or, for development, a plain
//! executable, whose id is a key kept on the host.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use floe_wire::archive;
use floe_wire::claims::ProviderClaims;
use floe_wire::control::StartProviderRequest;
use floe_wire::keys::KeyKind;
use sha2::{Digest as _, Sha256};

use crate::host::{HostCore, unix_now};

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

/// Resolves a start request to what runs.
pub async fn prepare(
    core: &HostCore,
    req: &StartProviderRequest,
) -> Result<ProviderSource, String> {
    let reference = req.reference.as_str();
    let is_artifact = reference.starts_with(floe_wire::artifact::SCHEME);
    if !is_artifact && !starts_like_archive(Path::new(reference)) {
        return plain(core, req);
    }
    // Fetching, unpacking and hashing hold memory and take a while for big
    // binaries: only as many at once as component loads (the same permits).
    let _permit = core
        .loads
        .acquire()
        .await
        .map_err(|_| "the host is stopping".to_owned())?;
    let bytes = crate::reference::resolve(core, reference).await?;
    if bytes.starts_with(b"\0asm") {
        return Err(format!(
            "{reference} is an actor component, not a provider archive: start it with `floe start actor {reference}`"
        ));
    }
    // Off the runtime.
    let policy = core.policy.clone();
    let opened = tokio::task::spawn_blocking(move || {
        archive::open_for(&bytes, unix_now(), &policy, HOST_TARGET)
    })
    .await
    .map_err(|e| format!("cannot open provider archive {reference}: {e}"))?
    .map_err(|e| format!("provider archive {reference} refused: {e}"))?;
    if req.provider_key.is_some() {
        return Err(format!(
            "{reference} is a signed archive: its provider id is its claims' subject ({}), so drop --provider-key",
            opened.claims.sub
        ));
    }
    let (target, binary) = opened
        .binary_for(HOST_TARGET)
        .map_err(|e| format!("provider archive {reference} refused: {e}"))?;
    let path = install(core, binary)
        .await
        .map_err(|e| format!("cannot install the provider binary from {reference}: {e}"))?;
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

/// True when the file at `path` starts like an archive (a plain executable
/// starts with `\x7fELF` or `#!`). Errors are left to the plain path's
/// checks, which name them.
fn starts_like_archive(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| archive::looks_like_archive(&magic))
}

/// A plain executable: its name from the file, its id from a key kept on
/// the host.
fn plain(core: &HostCore, req: &StartProviderRequest) -> Result<ProviderSource, String> {
    let path = check_executable(Path::new(&req.reference))?;
    // Nothing vouches for a plain executable: a host that trusts only some
    // issuers runs only their archives.
    if !core.policy.allowed_issuers.is_empty() {
        return Err(format!(
            "{} is a plain executable, and this host runs only providers signed by its allowed issuers \
             (--allowed-issuer): package it with `floe provider package` and start the archive",
            path.display()
        ));
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
    let keys = core.home.keys();
    let key = match &req.provider_key {
        Some(name_or_seed) => {
            keys.resolve(name_or_seed, KeyKind::Provider)
                .map_err(|e| format!("provider key: {e}"))?
                .0
        }
        None => {
            keys.load_or_create(&format!("provider-{name}"), KeyKind::Provider)
                .map_err(|e| format!("cannot keep a key for provider {name}: {e}"))?
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

fn check_executable(path: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt as _;
    if !path.is_absolute() {
        return Err(format!(
            "`{}` is not an absolute path on this host (the CLI makes paths absolute; pass one when calling the control API)",
            path.display()
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "provider executable {} does not exist on this host",
            path.display()
        ),
        _ => format!("cannot read provider executable {}: {e}", path.display()),
    })?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!(
            "{} is not executable (chmod +x it)",
            path.display()
        ));
    }
    std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a verified binary to `$FLOE_HOME/cache/providers/HASH` (a
/// directory only the host can read or write), unless the same bytes are
/// there already, and returns its path.
async fn install(core: &HostCore, binary: &[u8]) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let hex: String = Sha256::digest(binary)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = core.home.root().join("cache").join("providers");
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

/// Checks that the installed binary at `path` still has the hash its
/// archive signed (a restart runs it again, possibly much later).
pub async fn check_installed(path: &Path, signed: &Signed) -> Result<(), String> {
    let expected = signed
        .claims
        .floe
        .targets
        .get(&signed.target)
        .cloned()
        .unwrap_or_default();
    let file = path.to_owned();
    let actual = tokio::task::spawn_blocking(move || {
        std::fs::read(&file)
            .map(|bytes| floe_wire::claims::format_hash(&Sha256::digest(bytes).into()))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the installed provider {}: {e}", path.display()))?;
    if actual != expected {
        return Err(format!(
            "the installed provider {} changed since it was verified (hash {actual}, signed {expected}); start it again from its archive",
            path.display()
        ));
    }
    Ok(())
}
