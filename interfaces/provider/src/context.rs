//! [`Context`]: what a provider knows of the lattice and how it reaches it —
//! its host data, the links where it is source or target, and calls to the
//! actors linked to it (sealed envelopes, verified replies).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use floe_lattice::{LatticeAuth, Requester};
use floe_wire::envelope::Origin;
use floe_wire::provider::HostData;
use floe_wire::{Encoding, Envelope, InvocationError, Link};

/// The provider's view of the lattice, shared by every call.
#[derive(Debug)]
pub struct Context {
    data: HostData,
    pub(crate) nats: async_nats::Client,
    pub(crate) auth: Arc<LatticeAuth>,
    requester: Requester,
    /// Links where this provider is source or target, by KV key.
    pub(crate) links: RwLock<HashMap<String, Link>>,
    /// This context itself, for tasks that outlive one call.
    me: Weak<Context>,
}

impl Context {
    pub(crate) fn new(
        data: HostData,
        nats: async_nats::Client,
        auth: Arc<LatticeAuth>,
        max_call_bytes: usize,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Context {
            requester: Requester::new(nats.clone(), auth.clone())
                .with_max_call_bytes(max_call_bytes),
            data,
            nats,
            auth,
            links: RwLock::new(HashMap::new()),
            me: me.clone(),
        })
    }

    /// A shared handle on this context, for tasks that outlive one call
    /// (such as a listener's connections).
    pub fn shared(&self) -> Arc<Context> {
        // The context is only ever created inside an `Arc` (`new`), which
        // the serving loops hold while the provider runs.
        self.me.upgrade().unwrap_or_else(|| {
            unreachable!("a provider context is always held by the serving loop")
        })
    }

    pub fn host_data(&self) -> &HostData {
        &self.data
    }

    /// The provider's NATS connection (for its own resources, such as
    /// JetStream buckets; lattice messages go through [`Context::call`]).
    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// This provider's id (`V…`).
    pub fn provider_id(&self) -> &str {
        &self.data.provider_id
    }

    /// The value of the secret its start mapped to `key` (`--secret
    /// KEY=SECRET`), if any.
    pub fn secret(&self, key: &str) -> Option<&str> {
        self.data.secrets.get(key)
    }

    /// The config the provider was started with.
    pub fn config(&self) -> &floe_wire::control::StringMap {
        &self.data.config
    }

    /// The links where this provider is source or target.
    pub fn links(&self) -> Vec<Link> {
        let mut links: Vec<Link> = self
            .links
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        links.sort_by_key(Link::key);
        links
    }

    /// Invokes `operation` (`ns:pkg/iface.func`) on `target` with msgpack
    /// parameters, through link `link_name`, waiting at most `deadline`; in
    /// the trace of `span` when given (the callee's span is its child).
    pub async fn call(
        &self,
        target: &str,
        link_name: &str,
        operation: &str,
        payload: Vec<u8>,
        deadline: Duration,
        span: Option<&floe_wire::trace::TraceContext>,
    ) -> Result<Vec<u8>, InvocationError> {
        let origin = Origin {
            entity: self.data.provider_id.clone(),
            link_name: Some(link_name.to_owned()),
            host: Some(self.data.host_id.clone()),
        };
        let envelope = Envelope::request(
            origin,
            target,
            operation,
            payload,
            Encoding::Msgpack,
            deadline,
        )
        .traced(span);
        self.requester.invoke(envelope, deadline).await
    }
}
