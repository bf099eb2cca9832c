//! floe-wire: the vocabulary every Floe process shares.
//!
//! This crate holds no async runtime, NATS client or wasmtime: hosts, the CLI,
//! providers and tools all depend on it, so it stays small and pure.
//!
//! # Layout
//! - [`keys`]: the identity kinds (account, actor, provider, host, cluster) and
//!   parsing of nkey public keys and seeds.
//! - [`keystore`]: `$FLOE_HOME` and the seeds saved under `$FLOE_HOME/keys`.
//! - [`claims`]: signed actor claims — the JWT embedded in a component's custom
//!   section, signing, and [`claims::verify`].

pub mod claims;
pub mod keys;
pub mod keystore;

pub use claims::{Capability, Claims, VerifyError, VerifyPolicy, verify};
pub use keys::{KeyError, KeyKind};
pub use keystore::{FloeHome, KeyStore, KeyStoreError};
