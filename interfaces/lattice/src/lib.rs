//! floe-lattice: lattice state kept in NATS JetStream, for every Floe
//! process that reads or writes it (hosts, the CLI, providers).
//!
//! # Layout
//! - [`auth`]: [`LatticeAuth`], the lattice MAC on messages and KV entries.
//! - [`request`]: [`Requester`], sealed request/reply over a private inbox;
//!   only an authentic answer ends a wait.
//! - [`rpc`]: the invocation path, both halves (calling, serving).
//! - [`payloads`]: payloads too large for one NATS message, through the
//!   lattice's payload object store (used by `request` and `rpc`).
//! - [`bucket`]: opening the lattice's KV bucket (get, else create with as
//!   many replicas as the cluster allows, retrying while JetStream forms).
//! - [`logs`]: the bounded stream of actors' log lines.
//! - [`links`]: reading and writing links in that bucket.
//! - [`watch`]: [`KeyWatch`], following the entries under a prefix (links,
//!   config, secrets), re-established with backoff when a watch ends.
//! - [`actor_config`]: actors' config records (`floe config put`).
//! - [`secrets`]: the secrets bucket: sealed secrets, put by
//!   compare-and-set, listed, deleted, re-sealed; the secrets-key record.
//! - [`servers`]: one NATS URL or a comma-separated list of them.
//! - [`confirm`]: waiting until the server has taken a connection's
//!   subscriptions (a round trip; async-nats' flush only writes).
//! - [`lease`]: the reconciler's leader lease (a bucket whose `max_age` is
//!   the TTL, renewed by compare-and-set).
//! - [`routes`]: ingress routes in the lattice bucket (conflicts refused).
//! - [`records`]: sealed JSON records with their revision (compare-and-set).
//! - [`apps`]: application versions, heads, history, rollback, status.
//! - [`artifacts`]: artifacts by digest in the object store, tags in the bucket.

pub mod actor_config;
pub mod apps;
pub mod artifacts;
pub mod auth;
pub mod bucket;
pub mod confirm;
pub mod lease;
pub mod links;
pub mod logs;
pub mod payloads;
pub mod records;
pub mod request;
pub mod routes;
pub mod rpc;
pub mod secrets;
pub mod servers;
pub mod watch;

pub use auth::LatticeAuth;
pub use bucket::{BucketError, open_bucket, open_kv, open_kv_aged};
pub use links::{
    LinkChange, LinkEntry, LinkEntryError, LinkStoreError, delete_link, list_links, put_link,
    read_all, read_entry,
};
pub use logs::open_log_stream;
pub use request::{NO_RESPONDERS_GRACE, RequestFailure, Requester};
pub use watch::KeyWatch;
