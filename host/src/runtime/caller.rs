//! What a routed import knows of the invocation it runs in
//! ([`CallerContext`]: the caller, its deadline, span and link name) and
//! the [`Router`] its calls go through. The runtime knows nothing of NATS;
//! the router does.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use floe_wire::InvocationError;
use futures::future::BoxFuture;

/// One call of a routed import.
#[derive(Debug)]
pub struct RoutedCall<'a> {
    /// The calling actor.
    pub source: &'a str,
    /// The import, `ns:pkg/iface[@version]`.
    pub import: &'a str,
    pub function: &'a str,
    pub link_name: &'a str,
    /// The arguments, msgpack.
    pub payload: Vec<u8>,
    /// Time left of the caller's own deadline.
    pub deadline: std::time::Duration,
    /// The caller's span: the callee's joins its trace.
    pub trace: Option<&'a floe_wire::trace::TraceContext>,
}

/// Sends routed calls to whatever a link names.
pub trait Router: Send + Sync + std::fmt::Debug + 'static {
    fn call<'a>(&'a self, call: RoutedCall<'a>) -> BoxFuture<'a, Result<Vec<u8>, InvocationError>>;
}

/// What a routed import needs to know about the invocation it runs in.
pub struct CallerContext {
    pub actor_id: String,
    /// The link name in force (`default` until the guest picks another
    /// through `floe:host/link`).
    pub link_name: Mutex<String>,
    pub deadline_at: Instant,
    /// The invocation's span.
    pub trace: Option<floe_wire::trace::TraceContext>,
    pub router: Arc<dyn Router>,
    /// The first routed call that failed, reported to the original caller.
    pub failure: Mutex<Option<InvocationError>>,
}

impl std::fmt::Debug for CallerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerContext")
            .field("actor_id", &self.actor_id)
            .finish_non_exhaustive()
    }
}

impl CallerContext {
    pub fn link_name(&self) -> String {
        self.link_name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn set_link_name(&self, name: String) {
        *self
            .link_name
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = name;
    }

    pub fn take_failure(&self) -> Option<InvocationError> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Sends `import.function(payload)` through the link name in force,
    /// with what is left of this invocation's deadline.
    pub async fn route(
        &self,
        import: &str,
        function: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, InvocationError> {
        let link_name = self.link_name();
        self.router
            .call(RoutedCall {
                source: &self.actor_id,
                import,
                function,
                link_name: &link_name,
                payload,
                deadline: self.deadline_at.saturating_duration_since(Instant::now()),
                trace: self.trace.as_ref(),
            })
            .await
    }

    pub(super) fn record(&self, error: InvocationError) {
        let mut slot = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(error);
    }
}
