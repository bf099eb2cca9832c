//! One call for a shared instance: what it runs ([`Work`]), what it runs
//! with ([`JobContext`]), and where its answer goes.

use std::sync::Arc;
use std::time::Instant;

use floe_wire::{Answer, Encoding, InvocationError};
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::Val;

use super::super::caller::CallerContext;
use super::super::http::IncomingRequest;
use super::super::log_lines::LogSink;

/// What one shared call runs.
pub enum Work {
    /// `wasi:http/handler.handle` on a request.
    Http(Box<IncomingRequest>),
    /// An exported function (by its key in the export table).
    Func {
        export: String,
        params: Vec<Val>,
        encoding: Encoding,
    },
}

/// One call for a shared instance.
pub struct Job {
    pub work: Work,
    pub context: JobContext,
}

/// What a shared call runs with besides its work.
pub struct JobContext {
    pub started: Instant,
    pub deadline_at: Instant,
    pub caller: Option<Arc<CallerContext>>,
    pub config: Arc<super::super::actor_config::ActorConfig>,
    pub outgoing_http: bool,
    /// For its log lines.
    pub invocation: uuid::Uuid,
    pub logs: Option<Arc<dyn LogSink>>,
}

/// Where a call's answer goes.
pub type Reply = oneshot::Sender<Result<Answer, InvocationError>>;
pub type Queue = mpsc::UnboundedReceiver<(Job, Reply)>;
