//! floe-host: joins a NATS lattice and runs signed WebAssembly actors.
//!
//! The binary `floe-host` parses a [`HostConfig`] and calls [`run`]; tests
//! and benchmarks start a [`Host`] in-process the same way.
//!
//! # Layout
//! Top-down, in an order where a module imports only modules listed after
//! it (`layering` checks that no import cycle exists), and none imports
//! `host`:
//! - `host`: builds the rooms below from the [`config`], each given only
//!   the handles it uses; graceful stop.
//! - `control`: the control interface (ping, auction, per-host operations),
//!   refusals with stable codes.
//! - `heartbeat`: the periodic heartbeat event.
//! - `ingress`: `--ingress`: one listener serving the lattice's routes,
//!   local replicas in process.
//! - `lifecycle`: start, update, scale, stop of actors.
//! - `dormancy`: puts actors idle for their `idle-after` to sleep.
//! - `rpc`: serving an actor's invocations on `rpc.{actor}`, waking a
//!   dormant replica first.
//! - `loader`: fetch, verify and load an actor's code; wake a dormant one.
//! - `metrics`: Prometheus metrics on `--metrics-addr`.
//! - `status`: what the host says about itself (info, inventory, labels).
//! - `providers`: provider processes: supervise, health, restart, stop.
//! - `provider_source`: what a provider start runs: a verified archive's
//!   binary for this host's target, or a plain executable.
//! - `reference`: artifact references to bytes.
//! - `reconcile`: the embedded reconciler (floe-reconciler), led by one host.
//! - `routing`: the router that sends link-routed imports over NATS.
//! - `rekey`: re-sealing every secret to a new secrets key, on the leader.
//! - `live_config`: each running actor's config (start, stored, secrets),
//!   swapped in when any of it changes.
//! - `secrets`: the secrets keys this host holds and the secrets it opened.
//! - `links`: the links this host knows, followed from the lattice KV bucket.
//! - `logs`: actors' log lines published to `log.{actor}`.
//! - `actors`: the running actors, their concurrency gates and counters.
//! - `replica`: an actor's code on this host, active or dormant.
//! - `accept`: accepting connections within a limit (metrics, ingress).
//! - `bus`, `tasks`, `clock`: the leaves every room may use — the lattice
//!   connection and events, the task tracker and stop signal, the time.
//! - [`runtime`]: wasmtime engine, compile cache, loaded actors, one call.
//! - [`codec`]: payloads (msgpack, JSON, WAVE) to component values and back.

mod accept;
mod actors;
mod bus;
mod clock;
pub mod codec;
pub mod config;
mod control;
mod dormancy;
mod heartbeat;
mod host;
mod ingress;
#[cfg(test)]
mod layering;
mod lifecycle;
mod links;
mod live_config;
mod loader;
mod logs;
mod metrics;
mod provider_source;
mod providers;
mod reconcile;
mod reference;
mod rekey;
mod replica;
mod routing;
mod rpc;
pub mod runtime;
mod secrets;
mod status;
mod tasks;

pub use config::HostConfig;
pub use host::{Host, HostError, run};
pub use provider_source::HOST_TARGET;
