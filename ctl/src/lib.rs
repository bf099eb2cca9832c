//! floe-ctl: a typed client for a Floe lattice's control interface and
//! invocations. The `floe` CLI is a thin layer over it, and the integration
//! tests use it directly. It knows nothing about clap or terminals.
//!
//! # Layout
//! - [`client`]: [`CtlClient`] — connect, scatter-gather (ping, auction),
//!   per-host requests, name resolution, and [`CtlClient::call`].

pub mod client;

pub use client::{ClientOptions, CtlClient, CtlError};
