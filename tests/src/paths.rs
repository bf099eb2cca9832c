//! Where the artifacts tests use live: the workspace's release binaries and
//! the example actors `make examples` signs into `target/actors`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The directory holding the binaries built in the same profile as the
/// running executable: a test lives in `target/release/deps`, a binary such
/// as `floe-bench` in `target/release`.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    let mut dir = exe
        .parent()
        .context("the executable has no directory")?
        .to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    Ok(dir)
}

/// The path of a workspace binary, checked to exist.
pub fn bin(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build the binaries first (`make test` does, or `cargo build --release --workspace --bins`)",
            path.display()
        );
    }
    Ok(path)
}

/// The signed example actor `NAME` from `target/actors`, checked to exist.
pub fn actor(name: &str) -> anyhow::Result<PathBuf> {
    let target = bin_dir()?
        .parent()
        .map(Path::to_path_buf)
        .context("no target directory above the binaries")?;
    let path = target.join("actors").join(format!("{name}.wasm"));
    if !path.is_file() {
        bail!("{} is missing: run `make examples` first", path.display());
    }
    Ok(path)
}

/// A provider archive `make examples` packaged (`target/providers/NAME.par.gz`).
pub fn provider_archive(name: &str) -> anyhow::Result<PathBuf> {
    let target = bin_dir()?
        .parent()
        .map(Path::to_path_buf)
        .context("no target directory above the binaries")?;
    let path = target.join("providers").join(format!("{name}.par.gz"));
    if !path.is_file() {
        bail!("{} is missing: run `make examples` first", path.display());
    }
    Ok(path)
}

/// Where guest builds share their dependencies (`target/guest`, as `make
/// examples` builds the example actors), so a test's project compiles
/// wit-bindgen once.
pub fn guest_target_dir() -> anyhow::Result<PathBuf> {
    let target = bin_dir()?
        .parent()
        .map(Path::to_path_buf)
        .context("no target directory above the binaries")?;
    Ok(target.join("guest"))
}
