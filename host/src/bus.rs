//! [`Bus`]: the host's place on the lattice — its id, the lattice, the NATS
//! connection and the key that seals what it sends — and the one way it
//! publishes events.

use std::sync::Arc;
use std::time::Duration;

use floe_lattice::LatticeAuth;
pub use floe_lattice::confirm::Unconfirmed;
use floe_wire::{CloudEvent, EventType, LatticeId, Subject};
use serde::Serialize;

/// How long registering a subscription may take before whatever needed it
/// fails.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The host's connection to its lattice.
#[derive(Debug, Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    host_id: String,
    lattice: LatticeId,
    nats: async_nats::Client,
    auth: Arc<LatticeAuth>,
}

impl Bus {
    pub fn new(host_id: String, nats: async_nats::Client, auth: Arc<LatticeAuth>) -> Self {
        Bus {
            inner: Arc::new(Inner {
                host_id,
                lattice: auth.lattice().clone(),
                nats,
                auth,
            }),
        }
    }

    pub fn host_id(&self) -> &str {
        &self.inner.host_id
    }

    pub fn lattice(&self) -> &LatticeId {
        &self.inner.lattice
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub fn auth(&self) -> &Arc<LatticeAuth> {
        &self.inner.auth
    }

    /// `subject` on this lattice.
    pub fn subject(&self, subject: &Subject) -> String {
        subject.render(&self.inner.lattice)
    }

    /// Publishes an event; failures are logged, never fatal.
    pub async fn publish(&self, kind: EventType, data: &impl Serialize) {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        let event = CloudEvent::new(kind, self.host_id(), crate::clock::now_rfc3339(), data);
        let subject = self.subject(&Subject::Event(kind));
        match serde_json::to_vec(&event) {
            Ok(bytes) => {
                if let Err(e) = self.send(subject, bytes).await {
                    tracing::warn!(event = kind.name(), error = %e, "cannot publish event");
                }
            }
            Err(e) => tracing::warn!(event = kind.name(), error = %e, "cannot encode event"),
        }
    }

    /// Publishes `body` on `subject`, sealed.
    pub async fn send(
        &self,
        subject: String,
        body: Vec<u8>,
    ) -> Result<(), async_nats::PublishError> {
        self.inner
            .auth
            .publish(&self.inner.nats, subject, body.into())
            .await
    }

    /// Waits until the server has registered what was subscribed before
    /// (`floe_lattice::confirm`: async-nats' flush only writes the socket).
    pub async fn flush(&self) -> Result<(), Unconfirmed> {
        floe_lattice::confirm::subscriptions_registered(&self.inner.nats, FLUSH_TIMEOUT).await
    }
}
