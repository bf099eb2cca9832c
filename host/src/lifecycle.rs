//! [`Lifecycle`]: starting, updating, scaling and stopping actors on this
//! host. Each operation replies only once its effect holds: a started actor
//! already serves, a stopped one no longer takes calls.

use std::sync::Arc;
use std::time::Duration;

use floe_wire::EventType;
use floe_wire::control::{
    ActorStarted, ControlCode, Empty, Refusal, ScaleActorRequest, StartActorRequest,
    StopActorRequest, UpdateActorRequest,
};
use floe_wire::events::{ActorScaledData, ActorStartFailedData, ActorStoppedData};

use crate::actors::{ActorHandle, ActorTable, ConfigSpec};
use crate::bus::Bus;
use crate::live_config::{ConfigError, LiveConfig};
use crate::loader::{LoadFailure, Loader};
use crate::replica::Replica;
use crate::rpc::{Serving, SubscribeError};
use crate::tasks::Tasks;

/// Why an actor operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Load(#[from] LoadFailure),
    #[error("the host is stopping; start the actor on another host")]
    Stopping,
    #[error("actor {0} does not run on this host")]
    NotRunning(String),
    #[error(
        "{reference} is actor {subject}, not {actor}: an update must keep the actor id (re-sign it without --subject)"
    )]
    IdChanged {
        reference: String,
        subject: String,
        actor: String,
    },
    #[error("max-concurrent must be at least 1 (use `floe stop actor` to stop it)")]
    ZeroConcurrency,
    #[error("actor {0} was stopped while it started")]
    StoppedWhileStarting(String),
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl LifecycleError {
    /// The control code of this refusal (a fetch failure keeps its own).
    pub fn code(&self) -> ControlCode {
        match self {
            LifecycleError::Load(failure) => failure.code(),
            LifecycleError::Stopping => ControlCode::Stopping,
            LifecycleError::NotRunning(_) => ControlCode::NotFound,
            LifecycleError::IdChanged { .. } | LifecycleError::ZeroConcurrency => {
                ControlCode::BadRequest
            }
            LifecycleError::StoppedWhileStarting(_) => ControlCode::Conflict,
            LifecycleError::Subscribe(_) => ControlCode::Unavailable,
            LifecycleError::Config(ConfigError::Secret(e)) => e.code(),
            LifecycleError::Config(ConfigError::BadKey(_)) => ControlCode::BadRequest,
            LifecycleError::Config(ConfigError::Watch { .. }) => ControlCode::Unavailable,
        }
    }
}

impl From<LifecycleError> for Refusal {
    fn from(e: LifecycleError) -> Self {
        Refusal::new(e.code(), e.to_string())
    }
}

/// How actors run on this host unless a start says otherwise.
#[derive(Debug, Clone, Copy)]
pub struct ActorSettings {
    /// Instances of one actor at once.
    pub max_concurrent: u32,
    /// Calls that wait for an instance, at most.
    pub queue_depth: usize,
    /// How long a stop waits for the actor's calls to drain.
    pub stop_timeout: Duration,
    /// How long an actor may serve no call before it goes dormant, unless
    /// its start says otherwise; `None`: never.
    pub idle_after: Option<Duration>,
}

/// Starts, updates, scales and stops this host's actors.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub bus: Bus,
    pub tasks: Tasks,
    pub actors: Arc<ActorTable>,
    pub live: Arc<LiveConfig>,
    pub loader: Loader,
    pub serving: Serving,
    pub settings: ActorSettings,
}

impl Lifecycle {
    pub async fn start(&self, req: StartActorRequest) -> Result<ActorStarted, LifecycleError> {
        let result = self.start_inner(&req).await;
        if let Err(e) = &result {
            tracing::warn!(reference = %req.reference, error = %e, "actor start refused");
            self.bus
                .publish(
                    EventType::ActorStartFailed,
                    &ActorStartFailedData {
                        reference: req.reference.clone(),
                        host_id: self.bus.host_id().to_owned(),
                        error: e.to_string(),
                    },
                )
                .await;
        }
        result
    }

    async fn start_inner(&self, req: &StartActorRequest) -> Result<ActorStarted, LifecycleError> {
        let (bytes, claims) = self.loader.fetch_and_verify(&req.reference).await?;
        if let Some(existing) = self.actors.get(&claims.sub) {
            return Ok(self.started(&existing, true));
        }
        let spec = ConfigSpec {
            config: req.config.clone(),
            secrets: req.secrets.clone(),
        };
        let config = self
            .live
            .resolve(&claims.sub, &claims.floe.name, &spec)
            .await?;
        let idle_after = match req.idle_after_ms {
            Some(ms) => Some(Duration::from_millis(ms)),
            None => self.settings.idle_after,
        };
        let (replica, origin) = if req.dormant {
            let version = self
                .loader
                .prepare_dormant(bytes, claims, req.reference.clone())
                .await?;
            (Replica::dormant(version, idle_after), None)
        } else {
            let loaded = self
                .loader
                .load(Some(bytes), claims, req.reference.clone())
                .await?;
            let origin = loaded.origin;
            (Replica::new(loaded, idle_after), Some(origin))
        };
        let max = req.max_concurrent.unwrap_or(self.settings.max_concurrent);
        let handle = Arc::new(ActorHandle::new(
            replica,
            max,
            self.settings.queue_depth,
            req.annotations.clone(),
            spec,
            config,
        ));
        let handle = match self.actors.insert(handle) {
            Ok(h) => h,
            // Started concurrently by another request: that one is in force.
            Err(existing) => return Ok(self.started(&existing, true)),
        };
        // A change that arrived while it started found no handle to refresh.
        self.live.refresh(&handle);
        if self.tasks.is_stopping() {
            self.actors.remove_exact(&handle);
            return Err(LifecycleError::Stopping);
        }
        if let Err(e) = self.serving.subscribe(&handle).await {
            self.actors.remove_exact(&handle);
            return Err(e.into());
        }
        if handle.is_stopped() {
            return Err(LifecycleError::StoppedWhileStarting(handle.id.clone()));
        }
        let reply = self.started(&handle, false);
        match origin {
            Some(origin) => {
                tracing::info!(actor = %reply.actor_id, name = %reply.name, code = ?origin, "actor started");
            }
            None => {
                tracing::info!(actor = %reply.actor_id, name = %reply.name, "actor started dormant")
            }
        }
        self.bus.publish(EventType::ActorStarted, &reply).await;
        Ok(reply)
    }

    pub async fn update(&self, req: UpdateActorRequest) -> Result<ActorStarted, LifecycleError> {
        let handle = self.running(&req.actor_id)?;
        let (bytes, claims) = self.loader.fetch_and_verify(&req.reference).await?;
        if claims.sub != req.actor_id {
            return Err(LifecycleError::IdChanged {
                reference: req.reference,
                subject: claims.sub,
                actor: req.actor_id,
            });
        }
        let mut spec = handle.spec();
        let respecified = req.config.is_some() || req.secrets.is_some();
        spec.config = req.config.unwrap_or(spec.config);
        spec.secrets = req.secrets.unwrap_or(spec.secrets);
        let config = match respecified {
            true => Some(
                self.live
                    .resolve(&claims.sub, &claims.floe.name, &spec)
                    .await?,
            ),
            false => None,
        };
        let loaded = self
            .loader
            .load(Some(bytes), claims, req.reference.clone())
            .await?;
        let old = handle.replica.swap(loaded);
        if let Some(config) = config {
            handle.set_spec(spec);
            handle.set_config(config);
        }
        // The new version's name may change what its allow-lists grant.
        self.live.refresh(&handle);
        let reply = self.started(&handle, false);
        tracing::info!(actor = %reply.actor_id, from = %old.claims.floe.version, to = %reply.version, "actor updated");
        self.bus.publish(EventType::ActorUpdated, &reply).await;
        Ok(reply)
    }

    pub async fn scale(&self, req: ScaleActorRequest) -> Result<Empty, LifecycleError> {
        if req.max_concurrent == 0 {
            return Err(LifecycleError::ZeroConcurrency);
        }
        self.running(&req.actor_id)?.scale(req.max_concurrent);
        self.bus
            .publish(
                EventType::ActorScaled,
                &ActorScaledData {
                    actor_id: req.actor_id.clone(),
                    host_id: self.bus.host_id().to_owned(),
                    max_concurrent: req.max_concurrent,
                },
            )
            .await;
        Ok(Empty {})
    }

    pub async fn stop(&self, req: StopActorRequest) -> Result<Empty, LifecycleError> {
        let handle = self
            .actors
            .remove(&req.actor_id)
            .ok_or_else(|| LifecycleError::NotRunning(req.actor_id.clone()))?;
        // Reply once the actor takes no more calls (its subscription drained).
        if !handle.stop(self.settings.stop_timeout).await {
            tracing::warn!(actor = %req.actor_id, "subscription did not drain in time");
        }
        tracing::info!(actor = %req.actor_id, "actor stopped");
        self.bus
            .publish(
                EventType::ActorStopped,
                &ActorStoppedData {
                    actor_id: req.actor_id.clone(),
                    host_id: self.bus.host_id().to_owned(),
                },
            )
            .await;
        Ok(Empty {})
    }

    /// Stops taking calls on every actor (the host is stopping; its task
    /// tracker waits for them to drain).
    pub fn stop_all(&self) {
        for actor in self.actors.all() {
            actor.stop_now();
        }
    }

    fn running(&self, actor: &str) -> Result<Arc<ActorHandle>, LifecycleError> {
        self.actors
            .get(actor)
            .ok_or_else(|| LifecycleError::NotRunning(actor.to_owned()))
    }

    fn started(&self, handle: &ActorHandle, already_running: bool) -> ActorStarted {
        let loaded = handle.replica.version();
        ActorStarted {
            actor_id: handle.id.clone(),
            name: loaded.claims.floe.name.clone(),
            version: loaded.claims.floe.version.clone(),
            revision: loaded.claims.floe.revision,
            host_id: self.bus.host_id().to_owned(),
            already_running,
        }
    }
}

#[cfg(test)]
mod tests {
    use floe_wire::claims::VerifyError;

    use super::*;
    use crate::reference::FetchError;

    fn code(e: impl Into<LifecycleError>) -> ControlCode {
        Refusal::from(e.into()).code
    }

    #[test]
    fn refusals_carry_the_code_of_their_cause() {
        let refused = |source| LoadFailure::Refused {
            reference: "/a.wasm".into(),
            source,
        };
        assert_eq!(
            code(refused(VerifyError::IssuerNotAllowed {
                issuer: "A…".into()
            })),
            ControlCode::Unauthorized
        );
        assert_eq!(
            code(refused(VerifyError::Unsigned)),
            ControlCode::InvalidArtifact
        );
        assert_eq!(
            code(LoadFailure::IsArchive("/p.par.gz".into())),
            ControlCode::InvalidArtifact
        );
        assert_eq!(
            code(LoadFailure::Changed {
                reference: "floe://echo:1".into(),
                expected: "aa".into(),
                found: "bb".into(),
            }),
            ControlCode::InvalidArtifact
        );
        assert_eq!(
            code(LifecycleError::NotRunning("M…".into())),
            ControlCode::NotFound
        );
        assert_eq!(
            code(LifecycleError::ZeroConcurrency),
            ControlCode::BadRequest
        );
        assert_eq!(code(LifecycleError::Stopping), ControlCode::Stopping);
        assert_eq!(code(LoadFailure::Stopping), ControlCode::Stopping);
        // A fetch failure keeps the fetch's own code.
        assert_eq!(
            code(LoadFailure::Fetch(FetchError::NoFile {
                path: "/a.wasm".into()
            })),
            ControlCode::NoArtifact
        );
        let message = Refusal::from(LifecycleError::NotRunning("MX".into())).message;
        assert_eq!(message, "actor MX does not run on this host");
    }
}
