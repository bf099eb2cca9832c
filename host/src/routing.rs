//! The host's [`Router`]: a routed import becomes an envelope to the link's
//! target on `rpc.{target}`, with the caller's remaining deadline, and the
//! reply (or a typed error) comes back. Never a hang: the request waits at
//! most the deadline.

use std::sync::Arc;

use floe_lattice::Requester;
use floe_wire::envelope::Origin;
use floe_wire::{Encoding, Envelope, ErrorKind, InvocationError};
use futures::future::BoxFuture;

use crate::links::LinkTable;
use crate::runtime::{RoutedCall, Router};

/// Routes calls through the links this host knows.
#[derive(Debug)]
pub struct LinkRouter {
    /// Seals the request and checks the reply (the lattice is its auth's).
    pub requester: Requester,
    pub host_id: String,
    pub links: Arc<LinkTable>,
}

impl Router for LinkRouter {
    fn call<'a>(&'a self, call: RoutedCall<'a>) -> BoxFuture<'a, Result<Vec<u8>, InvocationError>> {
        Box::pin(self.route(call))
    }
}

impl LinkRouter {
    async fn route(&self, call: RoutedCall<'_>) -> Result<Vec<u8>, InvocationError> {
        let interface = call.import.split('@').next().unwrap_or(call.import);
        let package = interface.split('/').next().unwrap_or(interface);
        let link = self
            .links
            .find(call.source, package, call.link_name)
            .filter(|l| l.covers(call.import))
            .ok_or_else(|| {
                InvocationError::new(
                    ErrorKind::NoLink,
                    format!(
                        "no link `{}` routes {interface} for {} (add one with `floe link put {} TARGET {interface}`)",
                        call.link_name, call.source, call.source
                    ),
                )
            })?;
        if call.deadline.is_zero() {
            return Err(InvocationError::new(
                ErrorKind::TimedOut,
                "no time left for the call",
            ));
        }
        let origin = Origin {
            entity: call.source.to_owned(),
            link_name: Some(call.link_name.to_owned()),
            host: Some(self.host_id.clone()),
        };
        let operation = format!("{interface}.{}", call.function);
        let envelope = Envelope::request(
            origin,
            &link.target,
            &operation,
            call.payload,
            Encoding::Msgpack,
            call.deadline,
        )
        .traced(call.trace);
        self.requester.invoke(envelope, call.deadline).await
    }
}
