//! floe-provider: the SDK for capability providers written in Rust.
//!
//! A provider is a native executable a host starts as a child process. It
//! implements [`Provider`] and calls [`run`]: the SDK reads the host data
//! from stdin, connects to the lattice, answers invocations on
//! `rpc.{provider_id}` (NATS balances them across the provider's replicas),
//! delivers the links where the provider is source or target as they
//! change, answers the host's health checks, and stops cleanly when the host
//! asks (or on SIGTERM). Everything it sends is sealed with the lattice key
//! and everything it receives is verified (docs/security.md).
//!
//! Payloads use the wire mapping of docs/wire-values.md: decode parameters
//! with [`values::from_slice`] into plain serde types declared in WIT order,
//! encode results with [`values::to_vec`].
//!
//! # Layout
//! - [`host_data`]: reading the host data.
//! - [`context`]: [`Context`], the provider's view of the lattice (its
//!   links, calling the actors linked to it).
//! - [`serve`]: the loops behind [`run`].

pub mod context;
pub mod host_data;
pub mod serve;

pub use context::Context;
pub use floe_wire::envelope::Origin;
pub use floe_wire::provider::{HealthReport, HostData};
pub use floe_wire::trace::TraceContext;
pub use floe_wire::values;
pub use floe_wire::{ErrorKind, InvocationError, Link};
pub use serve::{ServeOptions, run, run_with, run_with_options};

/// One invocation of the provider.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub id: uuid::Uuid,
    pub origin: Origin,
    /// `ns:pkg/iface.func`.
    pub operation: String,
    /// The parameters, a msgpack array (docs/wire-values.md).
    pub payload: Vec<u8>,
    /// Time left for the answer.
    pub deadline: std::time::Duration,
    /// This invocation's span, in the caller's trace when it sent one: pass
    /// it to [`Context::call`] so the actors called join the trace.
    pub trace: floe_wire::trace::TraceContext,
}

/// What a provider implements.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Answers one invocation with the encoded result (msgpack).
    async fn invoke(&self, ctx: &Context, call: Invocation) -> Result<Vec<u8>, InvocationError>;

    /// A link where this provider is source or target was put (also for
    /// every such link that exists when the provider starts).
    async fn link_put(&self, _ctx: &Context, _link: &Link) {}

    /// Such a link was deleted.
    async fn link_deleted(&self, _ctx: &Context, _link: &Link) {}

    /// Answers the host's health check.
    async fn health(&self) -> HealthReport {
        HealthReport {
            healthy: true,
            message: None,
        }
    }

    /// The provider is about to stop: release what it holds.
    async fn shutdown(&self) {}
}

/// Why a provider could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(
        "cannot read the host data on stdin: {0} (a provider is started by a Floe host: `floe start provider PATH`)"
    )]
    HostData(String),
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot subscribe to {subject}: {reason}")]
    Subscribe { subject: String, reason: String },
    #[error(transparent)]
    Bucket(#[from] floe_lattice::BucketError),
}
