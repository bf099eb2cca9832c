//! [`Providers`]: the providers this host runs (DESIGN.md "Providers").
//! Each is a child process watched by a supervisor task ([`supervise`]);
//! a start replies once the provider answers a health check, or with the
//! reason it never did; a stop replies once it is reaped.

mod supervise;
mod table;

use std::sync::Arc;

use floe_wire::EventType;
use floe_wire::control::{
    ControlCode, Empty, ProviderStarted, Refusal, StartProviderRequest, StopProviderRequest,
    StringMap,
};
use floe_wire::provider::ProviderSecrets;
use serde_json::json;
use tokio::sync::oneshot;

pub use supervise::{ProviderSettings, RunFailure, Supervisor};
pub use table::{ProviderHandle, ProviderTable};

use crate::provider_source::{SourceError, Sources};
use crate::secrets::{HostSecrets, SecretUseError};

/// Why a provider operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("this host is stopping")]
    Stopping,
    #[error("provider {0} does not run on this host (see `floe get inventory`)")]
    NotRunning(String),
    #[error(transparent)]
    StartFailed(RunFailure),
    #[error(transparent)]
    Secret(#[from] SecretUseError),
}

impl ProviderError {
    /// The control code of this refusal (a source's failure keeps its own).
    pub fn code(&self) -> ControlCode {
        match self {
            ProviderError::Source(source) => source.code(),
            ProviderError::Stopping => ControlCode::Stopping,
            ProviderError::NotRunning(_) => ControlCode::NotFound,
            ProviderError::StartFailed(_) => ControlCode::StartFailed,
            ProviderError::Secret(e) => e.code(),
        }
    }
}

impl From<ProviderError> for Refusal {
    fn from(e: ProviderError) -> Self {
        Refusal::new(e.code(), e.to_string())
    }
}

/// Starts and stops this host's providers.
#[derive(Debug, Clone)]
pub struct Providers {
    pub table: Arc<ProviderTable>,
    pub sources: Sources,
    pub supervisor: Supervisor,
    /// Opens the secrets a start hands a provider.
    pub secrets: Arc<HostSecrets>,
}

impl Providers {
    /// Starts a provider; the reply comes once it answers a health check, or
    /// with the reason it never did.
    pub async fn start(&self, req: StartProviderRequest) -> Result<ProviderStarted, ProviderError> {
        let bus = &self.supervisor.bus;
        let source = self.sources.prepare(&req).await?;
        let (issuer, version) = match &source.signed {
            Some(signed) => (
                Some(signed.claims.iss.clone()),
                Some(signed.claims.floe.version.clone()),
            ),
            None => (None, None),
        };
        let id = source.id.clone();
        let name = source.name.clone();
        let already_running = || ProviderStarted {
            provider_id: id.clone(),
            name: name.clone(),
            issuer: issuer.clone(),
            version: version.clone(),
            host_id: bus.host_id().to_owned(),
            already_running: true,
        };
        if self.table.get(&id).is_some() {
            return Ok(already_running());
        }
        let secrets = self.open_secrets(&id, &req.secrets).await?;
        if self.supervisor.tasks.is_stopping() {
            return Err(ProviderError::Stopping);
        }
        let handle = Arc::new(ProviderHandle::new(
            id.clone(),
            name.clone(),
            source.path,
            req.reference.clone(),
            source.signed,
            req.annotations.clone(),
        ));
        {
            let mut map = self.table.lock();
            if map.contains_key(&id) {
                drop(map);
                return Ok(already_running());
            }
            map.insert(id.clone(), handle.clone());
        }
        let data = self.supervisor.host_data(&handle, req.config, secrets);
        let (ready_tx, ready_rx) = oneshot::channel();
        self.supervisor.tasks.spawn(supervise::supervise(
            self.supervisor.clone(),
            handle.clone(),
            data,
            ready_tx,
        ));
        let outcome = ready_rx.await.unwrap_or(Err(RunFailure::SupervisorEnded));
        match outcome {
            Ok(()) => {
                let started = ProviderStarted {
                    already_running: false,
                    ..already_running()
                };
                bus.publish(EventType::ProviderStarted, &started).await;
                Ok(started)
            }
            Err(reason) => {
                self.table.remove_exact(&handle);
                handle.stop().await;
                bus.publish(
                    EventType::ProviderStartFailed,
                    &json!({ "provider_id": id, "name": name, "host_id": bus.host_id(), "error": reason.to_string() }),
                )
                .await;
                Err(ProviderError::StartFailed(reason))
            }
        }
    }

    /// The secrets `mapping` names (key → secret), each read from the
    /// bucket now and checked against its allow-list for `provider`.
    async fn open_secrets(
        &self,
        provider: &str,
        mapping: &StringMap,
    ) -> Result<ProviderSecrets, SecretUseError> {
        let mut opened = ProviderSecrets::default();
        for (key, name) in mapping {
            self.secrets.fetch(name).await?;
            let value = self.secrets.value_for(name, provider, None)?;
            let text = value
                .as_text()
                .ok_or_else(|| SecretUseError::NotText { name: name.clone() })?;
            opened.insert(key.clone(), text.to_owned());
        }
        Ok(opened)
    }

    /// Stops a provider and waits until it is reaped.
    pub async fn stop(&self, req: StopProviderRequest) -> Result<Empty, ProviderError> {
        let handle = self
            .table
            .remove(&req.provider_id)
            .ok_or(ProviderError::NotRunning(req.provider_id))?;
        self.stop_handle(&handle).await;
        Ok(Empty {})
    }

    /// Stops every provider (the host is stopping).
    pub async fn stop_all(&self) {
        let all = self.table.all();
        let stops = all.iter().map(|h| {
            self.table.remove(&h.id);
            self.stop_handle(h)
        });
        futures::future::join_all(stops).await;
    }

    async fn stop_handle(&self, handle: &Arc<ProviderHandle>) {
        handle.stop().await;
        let bus = &self.supervisor.bus;
        bus.publish(
            EventType::ProviderStopped,
            &json!({ "provider_id": handle.id, "name": handle.name, "host_id": bus.host_id() }),
        )
        .await;
    }
}
