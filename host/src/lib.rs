//! floe-host: joins a NATS lattice and runs signed WebAssembly actors.
//!
//! The binary `floe-host` parses a [`HostConfig`] and calls [`run`]; tests
//! and benchmarks start a [`Host`] in-process the same way.
//!
//! # Layout
//! - [`config`]: every flag, with defaults and `FLOE_…` environment variables.
//! - `host`: identity, connection, shared state, graceful stop.
//! - `control`: the control interface (ping, auction, per-host operations).
//! - `lifecycle`: start, update, scale, stop of actors.
//! - `actors`: the running actors, their concurrency gates and counters.
//! - `provider_source`: what a provider start runs: a verified archive's
//!   binary for this host's target, or a plain executable.
//! - `providers`: provider processes: spawn, health, restart, stop.
//! - `rpc`: invocations on `rpc.{actor}` and their replies.
//! - `heartbeat`: the periodic heartbeat event.
//! - `reconcile`: the embedded reconciler (floe-reconciler), led by one host.
//! - `links`: the links this host knows, followed from the lattice KV bucket.
//! - `logs`: actors' log lines published to `log.{actor}`.
//! - `metrics`: Prometheus metrics on `--metrics-addr`.
//! - `routing`: the router that sends link-routed imports over NATS.
//! - `reference`: artifact references to bytes.
//! - [`runtime`]: wasmtime engine, compile cache, loaded actors, one call.
//! - [`codec`]: payloads (msgpack, JSON, WAVE) to component values and back.

mod actors;
pub mod codec;
pub mod config;
mod control;
mod heartbeat;
mod host;
mod lifecycle;
mod links;
mod logs;
mod metrics;
mod provider_source;
mod providers;
mod reconcile;
mod reference;
mod routing;
mod rpc;
pub mod runtime;

pub use config::HostConfig;
pub use host::{Host, HostError, run};
pub use provider_source::HOST_TARGET;
