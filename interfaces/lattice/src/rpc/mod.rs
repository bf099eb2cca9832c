//! The invocation path, written once: envelopes to `rpc.{entity}` and their
//! replies, for hosts, providers and the CLI alike.
//!
//! # Layout
//! - [`client`]: [`Requester::invoke`](crate::Requester::invoke), the calling
//!   half (seal, send, wait for the authentic reply, check it).
//! - [`server`]: [`Server`], the serving half (verify before spawning, bound,
//!   decode, cap the deadline, run the [`Handler`], fit, seal, publish).
//!
//! Payloads too large for one NATS message go through
//! [`PayloadStore`](crate::payloads::PayloadStore), which both halves use.

pub mod client;
pub mod server;

pub use crate::payloads::{DEFAULT_MAX_CALL_BYTES, PayloadStore};
pub use server::{Call, DEFAULT_MAX_IN_FLIGHT, Handler, ServeConfig, Server};
