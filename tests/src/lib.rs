//! floe-tests: the harness for Floe's integration tests.
//!
//! Integration tests run against real processes: `nats-server` with
//! JetStream, and Floe's own binaries as built by `cargo build --release`
//! (which `make test` runs first). Nothing here mocks NATS or the network.
//!
//! # Layout
//! - [`nats`]: [`NatsServer`] and [`NatsCluster`], real servers on free ports
//!   in temp dirs, killed and reaped on drop (also when a test panics).
//! - [`paths`]: where the workspace's binaries and signed example actors are.
//! - [`cli`]: running the `floe` binary with its own `$FLOE_HOME`.
//! - [`http`]: a real HTTP client, a page server, free ports.
//! - [`host`]: [`HostProcess`], a real `floe-host` child with small timing knobs.
//! - [`seed`]: the cluster seed of each test lattice, and clients holding it.
//! - [`signing`]: code signed again as a new actor, claiming what a test names.
//! - [`forger`]: [`Forger`], a party without the lattice key answering
//!   every request it sees first, with garbage and forged `503`s.
//! - [`with_timeout`]: the hard deadline every async test body runs under.

pub mod cli;
pub mod forger;
pub mod host;
pub mod http;
pub mod nats;
pub mod paths;
pub mod seed;
pub mod signing;

use std::future::Future;
use std::time::Duration;

pub use cli::{CliOutput, FloeCli};
pub use forger::Forger;
pub use host::{HostOptions, HostProcess, start_request};
pub use nats::{NatsCluster, NatsServer};
pub use seed::{auth_for, client, seed_for};
pub use signing::sign_as_new_actor;

/// Runs `body` with a hard deadline, failing the test if it is exceeded.
/// (nextest also kills any test after its own timeout; this one gives a
/// clearer message and keeps `cargo test` runs bounded too.)
pub async fn with_timeout<T>(limit: Duration, body: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, body).await {
        Ok(value) => value,
        Err(_) => panic!("test exceeded its hard timeout of {limit:?}"),
    }
}
