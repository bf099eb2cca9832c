//! floe-lattice: lattice state kept in NATS JetStream, for every Floe
//! process that reads or writes it (hosts, the CLI, providers).
//!
//! # Layout
//! - [`bucket`]: opening the lattice's KV bucket (get, else create with as
//!   many replicas as the cluster allows, retrying while JetStream forms).
//! - [`links`]: reading and writing links in that bucket.

pub mod bucket;
pub mod links;

pub use bucket::{BucketError, open_bucket};
pub use links::{LinkStoreError, delete_link, list_links, put_link};
