//! floe-wire: the vocabulary every Floe process shares.
//!
//! This crate holds no async runtime, NATS client or wasmtime: hosts, the CLI,
//! providers and tools all depend on it, so it stays small and pure.
//!
//! # Layout
//! - [`actor_config`]: an actor's config stored in the lattice (live config).
//! - [`app`]: declarative applications — the manifest, its validation, the
//!   records kept per app, spread arithmetic.
//! - [`archive`]: signed provider archives (a binary per target triple,
//!   claims with each binary's hash), made and verified.
//! - [`artifact`]: artifact references (`floe://…`), object names, tags.
//! - [`auth`]: the authenticated lattice — the lattice key from the cluster
//!   seed, the seal (MAC) on every message and KV entry, replay protection.
//! - [`keys`]: the identity kinds (account, actor, provider, host, cluster) and
//!   parsing of nkey public keys and seeds.
//! - [`keystore`]: `$FLOE_HOME` and the seeds saved under `$FLOE_HOME/keys`.
//! - [`claims`]: signed claims — the JWT embedded in a component's custom
//!   section, signing, and [`claims::verify`]; the claims of provider archives.
//! - [`duration`]: parsing the duration flags every binary takes, bounded.
//! - [`lattice`]: lattice ids.
//! - [`provider`]: the host data a host hands the providers it starts.
//! - [`logline`]: the JSON line of an actor's log stream.
//! - [`link`]: links (which entity answers an import) and their KV keys.
//! - [`secrets`]: secrets sealed to the lattice's secrets key: names,
//!   values that never print, keys, sealed entries, the secrets-key record.
//! - [`subject`]: every NATS subject, built and parsed in one place.
//! - [`control`]: control-plane requests and replies (JSON), and the
//!   stable codes of refusals.
//! - [`events`]: the event-type enum and the CloudEvents envelope.
//! - [`values`]: the msgpack mapping of WIT values, and the serde form of
//!   it for plain Rust types.
//! - [`trace`]: the W3C trace context every envelope carries.
//! - [`envelope`]: the invocation envelope and reply (msgpack), typed errors.
//! - [`ingress`]: ingress routes (hosts and paths to actors) and their
//!   matching by Gateway API precedence.
//! - [`http`]: an HTTP request and response as they cross the wire.

pub mod actor_config;
pub mod app;
pub mod archive;
pub mod artifact;
pub mod auth;
pub mod claims;
pub mod control;
pub mod duration;
pub mod envelope;
pub mod events;
pub mod http;
pub mod ingress;
pub mod keys;
pub mod keystore;
pub mod lattice;
pub mod link;
pub mod logline;
pub mod provider;
mod refusal;
pub mod secrets;
pub mod subject;
pub mod trace;
pub mod values;

pub use claims::{Capability, Claims, VerifyError, VerifyPolicy, verify};
pub use envelope::{Answer, Encoding, Envelope, ErrorKind, InvocationError, InvocationReply};
pub use events::{CloudEvent, EventType};
pub use keys::{KeyError, KeyKind};
pub use keystore::{FloeHome, KeyStore, KeyStoreError};
pub use lattice::LatticeId;
pub use link::Link;
pub use subject::{HostOp, Subject};
