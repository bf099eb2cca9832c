//! Why the runtime cannot start, and why its compile cache cannot be used.

use std::path::PathBuf;

/// The engine or its compile cache could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot configure the wasm engine: {0}")]
    Engine(String),
    #[error("cannot prepare the compile cache at {path}: {reason}")]
    Cache { path: PathBuf, reason: CacheError },
}

/// Why the compile cache's directory is not safe to use, or an entry
/// cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cannot tell which user runs the host ({path}): {reason}")]
    Owner {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("{0} belongs to another user")]
    OtherUser(PathBuf),
    #[error(
        "{} is writable by group or others; run `chmod go-w {}` or choose another --cache-dir",
        .0.display(),
        .0.display()
    )]
    Writable(PathBuf),
    #[error("cannot serialize compiled code: {0}")]
    Serialize(String),
}
