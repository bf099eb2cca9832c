//! The wasm runtime of one host: one `Engine`, its compile cache, and the
//! actors loaded on it.
//!
//! # Layout
//! - `engine`: the `Engine` with an explicitly sized pooling allocator and the
//!   epoch ticker that enforces deadlines.
//! - `cache`: compiled code on disk, keyed by artifact digest and engine.
//! - `imports`: the import classes of DESIGN.md and the claims check.
//! - `state`: what one instance's `Store` holds (WASI context, limits, output).
//! - `actor`: a loaded actor (`InstancePre`, export table) and one invocation.

mod actor;
mod cache;
mod engine;
mod imports;
mod state;

pub use actor::{LoadError, LoadedActor};
pub use engine::{EPOCH_TICK, Runtime, RuntimeError, RuntimeLimits};
