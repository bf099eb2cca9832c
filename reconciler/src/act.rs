//! Carrying out one planned action through the control interface, as the
//! CLI would. A failure is a host's refusal (its code for the reconciler
//! to act on) or the client's own (no answer in time, no connection), and
//! its message goes in the app's status.

use floe_ctl::{CtlClient, CtlError};
use floe_wire::control::{
    CONTROL_VERSION, ControlCode, Refusal, StartActorRequest, StartProviderRequest,
    UpdateActorRequest,
};

use crate::plan::Action;

/// Does `action`; why not when it failed.
pub async fn act(client: &CtlClient, action: &Action) -> Result<(), CtlError> {
    match action {
        Action::StartActor {
            host,
            image,
            config,
            secrets,
            max_concurrent,
            idle_after_ms,
            dormant,
            annotations,
            ..
        } => client
            .start_actor(
                host,
                StartActorRequest {
                    v: CONTROL_VERSION,
                    reference: image.clone(),
                    max_concurrent: *max_concurrent,
                    annotations: annotations.clone(),
                    config: config.clone(),
                    secrets: secrets.clone(),
                    idle_after_ms: *idle_after_ms,
                    dormant: *dormant,
                },
            )
            .await
            .and_then(|started| conflict(started.already_running, &started.actor_id, host)),
        Action::UpdateActor {
            host,
            actor_id,
            image,
            config,
            secrets,
            ..
        } => client
            .update_actor_with(
                host,
                &UpdateActorRequest {
                    v: CONTROL_VERSION,
                    actor_id: actor_id.clone(),
                    reference: image.clone(),
                    config: Some(config.clone()),
                    secrets: Some(secrets.clone()),
                },
            )
            .await
            .map(|_| ()),
        Action::ScaleActor {
            host,
            actor_id,
            max_concurrent,
        } => client.scale_actor(host, actor_id, *max_concurrent).await,
        Action::StopActor { host, actor_id } => {
            stopped_already(client.stop_actor(host, actor_id).await)
        }
        Action::StartProvider {
            host,
            image,
            config,
            annotations,
            ..
        } => client
            .start_provider(
                host,
                StartProviderRequest {
                    v: CONTROL_VERSION,
                    reference: image.clone(),
                    provider_key: None,
                    config: config.clone(),
                    annotations: annotations.clone(),
                    secrets: Default::default(),
                },
            )
            .await
            .and_then(|started| conflict(started.already_running, &started.provider_id, host)),
        Action::StopProvider { host, provider_id } => {
            stopped_already(client.stop_provider(host, provider_id).await)
        }
        Action::PutLink(link) => client.put_link(link).await,
        Action::DeleteLink {
            source,
            package,
            link_name,
        } => match client.delete_link(source, package, link_name).await {
            // Gone already: what was wanted.
            Err(CtlError::NotFound(_)) => Ok(()),
            other => other,
        },
        Action::PutRoute(route) => client.put_route(route.clone()).await.map(|_| ()),
        Action::DeleteRoute { name } => match client.delete_route(name).await {
            Err(CtlError::NotFound(_)) => Ok(()),
            other => other,
        },
    }
}

/// A stop the host refused `not_found`: the replica is gone already, what
/// was wanted. (No host answering at all is not that: it stays an error.)
fn stopped_already(result: Result<(), CtlError>) -> Result<(), CtlError> {
    match result {
        Err(CtlError::Refused(refusal)) if refusal.code == ControlCode::NotFound => Ok(()),
        other => other,
    }
}

/// What a failed action means for the next ones, by the code of the
/// host's refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A host refused for a reason that passes (`stopping`, `unavailable`):
    /// the same request may succeed soon or elsewhere.
    Transient,
    /// A host refused the image itself (`no_artifact`, `invalid_artifact`,
    /// `unauthorized`): it will again; another host may not (its files,
    /// target and issuer allow-list are its own).
    Artifact,
    /// Anything else, a failure of the client's own included (no answer in
    /// time: the host may still be at work).
    Other,
}

impl Failure {
    pub fn of(error: &CtlError) -> Self {
        match error {
            CtlError::Refused(refusal) if refusal.code.is_transient() => Failure::Transient,
            CtlError::Refused(refusal)
                if matches!(
                    refusal.code,
                    ControlCode::NoArtifact
                        | ControlCode::InvalidArtifact
                        | ControlCode::Unauthorized
                ) =>
            {
                Failure::Artifact
            }
            _ => Failure::Other,
        }
    }
}

/// A start that found the id already running there: a copy outside this
/// app (started by hand or by another app) holds the host, and the app's
/// replica is not there.
fn conflict(already_running: bool, id: &str, host: &str) -> Result<(), CtlError> {
    if already_running {
        return Err(CtlError::Refused(Refusal::new(
            ControlCode::Conflict,
            format!(
                "{id} already runs on {host} outside this app (started by hand or by another app); \
                 the app's replica goes to another host"
            ),
        )));
    }
    Ok(())
}

/// A short description of `action` for logs.
pub fn describe(action: &Action) -> String {
    match action {
        Action::StartActor {
            host, component, ..
        } => format!("start actor {component} on {host}"),
        Action::UpdateActor {
            host,
            component,
            image,
            ..
        } => format!("update {component} on {host} to {image}"),
        Action::ScaleActor {
            host,
            actor_id,
            max_concurrent,
        } => format!("scale {actor_id} on {host} to {max_concurrent}"),
        Action::StopActor { host, actor_id } => format!("stop actor {actor_id} on {host}"),
        Action::StartProvider {
            host, component, ..
        } => format!("start provider {component} on {host}"),
        Action::StopProvider { host, provider_id } => {
            format!("stop provider {provider_id} on {host}")
        }
        Action::PutLink(link) => {
            format!("link {} → {} ({})", link.source, link.target, link.package)
        }
        Action::DeleteLink {
            source,
            package,
            link_name,
        } => format!("unlink {source} {package} {link_name}"),
        Action::PutRoute(route) => format!("store route {} → {}", route.name, route.target),
        Action::DeleteRoute { name } => format!("delete route {name}"),
    }
}
