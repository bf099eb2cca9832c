//! Carrying out one planned action through the control interface, as the
//! CLI would. A failure comes back as a refusal: its code for the
//! reconciler to act on, its message for the app's status.

use floe_ctl::{CtlClient, CtlError};
use floe_wire::control::{
    CONTROL_VERSION, ControlCode, Refusal, StartActorRequest, StartProviderRequest,
};

use crate::plan::Action;

/// Does `action`; why not when it failed.
pub async fn act(client: &CtlClient, action: &Action) -> Result<(), Refusal> {
    let result = match action {
        Action::StartActor {
            host,
            image,
            config,
            max_concurrent,
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
                },
            )
            .await
            .and_then(|started| conflict(started.already_running, &started.actor_id, host)),
        Action::UpdateActor {
            host,
            actor_id,
            image,
            ..
        } => client.update_actor(host, actor_id, image).await.map(|_| ()),
        Action::ScaleActor {
            host,
            actor_id,
            max_concurrent,
        } => client.scale_actor(host, actor_id, *max_concurrent).await,
        Action::StopActor { host, actor_id } => {
            gone_is_done(client.stop_actor(host, actor_id).await)
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
                },
            )
            .await
            .and_then(|started| conflict(started.already_running, &started.provider_id, host)),
        Action::StopProvider { host, provider_id } => {
            gone_is_done(client.stop_provider(host, provider_id).await)
        }
        Action::PutLink(link) => client.put_link(link).await,
        Action::DeleteLink {
            source,
            package,
            link_name,
        } => gone_is_done(client.delete_link(source, package, link_name).await),
    };
    result.map_err(|e| match e {
        CtlError::Refused(refusal) => refusal,
        other => Refusal::new(other.code(), other.to_string()),
    })
}

/// A removal whose target is gone already: what was wanted.
fn gone_is_done(result: Result<(), CtlError>) -> Result<(), CtlError> {
    match result {
        Err(e) if e.code() == ControlCode::NotFound => Ok(()),
        other => other,
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
    }
}
