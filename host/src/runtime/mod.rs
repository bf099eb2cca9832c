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
//! - `route`: imports routed by link (dynamic functions over a `Router`);
//!   `caller`: what such a call knows of its invocation, and the `Router`.
//! - `http`: `wasi:http` — the incoming handler run from a wire request;
//!   `http_p3`: the same for WASI 0.3's `wasi:http/handler`;
//!   `http_hooks`: outgoing requests only when claimed.
//! - `config`: `wasi:config`, served from `actor_config` (the actor's
//!   config and secrets as the host held them when the call started).
//! - `keyvalue`: `wasi:keyvalue`, forwarded to the linked provider.
//! - `link_select`: `floe:host/link`, the guest picking its link name.
//! - `logging`: `wasi:logging` and the guest's output, to the host log and a
//!   `LogSink`; `log_lines`: the lines one instance logged, and the sink.
//! - `error`: why the runtime cannot start; `trap`: how a guest's failure
//!   reads to its caller.
//! - `actor`: a loaded actor (`InstancePre`, export table) and one invocation.
//! - `warm`: instances kept between calls of one actor (`--reuse`).
//! - `shared`: instances of a WASI 0.3 actor running several calls at once
//!   (`--max-concurrent-per-instance`, `--max-calls-per-instance`).
//! - `blobs`: the typed fast path for exports taking and returning one
//!   `list<u8>` or `string` (no `Val` per byte).

mod actor;
mod actor_config;
mod blobs;
mod cache;
mod caller;
mod code;
mod config;
mod engine;
mod error;
mod http;
mod http_hooks;
mod http_p3;
pub(crate) mod imports;
mod keyvalue;
mod link_select;
mod log_lines;
mod logging;
mod output;
mod route;
mod shared;
mod state;
mod trap;
mod warm;

pub use actor::{CallEnv, LoadError, LoadedActor};
pub use actor_config::{ActorConfig, ConfigValue};
pub use caller::{RoutedCall, Router};
pub use code::CodeOrigin;
pub use engine::{EPOCH_TICK, Runtime, RuntimeLimits};
pub use error::RuntimeError;
pub use log_lines::{LogLine, LogSink};
pub use shared::SharedLimits;
