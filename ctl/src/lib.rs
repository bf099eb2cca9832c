//! floe-ctl: a typed client for a Floe lattice's control interface and
//! invocations. The `floe` CLI is a thin layer over it, and the integration
//! tests use it directly. It knows nothing about clap or terminals.
//!
//! # Layout
//! - [`client`]: [`CtlClient`] — connect, scatter-gather (ping, auction),
//!   per-host requests, and [`CtlClient::call`].
//! - `resolve`: names and id prefixes to ids (actors, providers, hosts).
//! - [`summary`]: actors and providers summed over every host.
//! - [`contexts`]: named connection settings in `$FLOE_HOME/config.toml`.

pub mod client;
pub mod contexts;
mod error;
mod resolve;
pub mod summary;

pub use client::{ClientOptions, CtlClient};
pub use error::{CtlError, exit_status};
