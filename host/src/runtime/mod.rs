//! The wasm runtime of one host: one `Engine`, its compile cache, and the
//! actors loaded on it.
//!
//! # Layout
//! - `engine`: the `Engine` with an explicitly sized pooling allocator and the
//!   epoch ticker that enforces deadlines.
//! - `cache`: compiled code on disk, keyed by code digest and engine.
//! - `code`: compiled code in memory, shared by actors with the same code.
//! - `imports`: the import classes of DESIGN.md and the claims check.
//! - `state`: what one instance's `Store` holds (WASI context, limits, output).
//! - `output`: a guest's captured stdout/stderr, capped, never refusing a write.
//! - `route`: imports routed by link (dynamic functions over a `Router`).
//! - `link_select`: `floe:host/link`, the guest picking its link name.
//! - `actor`: a loaded actor (`InstancePre`, export table) and one invocation.

mod actor;
mod cache;
mod code;
mod engine;
mod imports;
mod link_select;
mod output;
mod route;
mod state;

pub use actor::{LoadError, LoadedActor};
pub use code::CodeOrigin;
pub use engine::{EPOCH_TICK, Runtime, RuntimeError, RuntimeLimits};
pub use route::{RoutedCall, Router};
