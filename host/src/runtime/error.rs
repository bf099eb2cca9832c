//! Why the runtime cannot start.

use std::path::PathBuf;

/// The engine or its compile cache could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot configure the wasm engine: {0}")]
    Engine(String),
    #[error("cannot prepare the compile cache at {path}: {reason}")]
    Cache { path: PathBuf, reason: String },
}
