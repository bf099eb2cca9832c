//! Starting, updating, scaling and stopping actors on this host. Each
//! operation replies only once its effect holds: a started actor already
//! serves, a stopped one no longer takes calls.

use std::sync::Arc;

use floe_wire::EventType;
use floe_wire::claims::{self, Claims};
use floe_wire::control::{
    ActorStarted, Empty, ScaleActorRequest, StartActorRequest, StopActorRequest, UpdateActorRequest,
};
use floe_wire::events::{ActorScaledData, ActorStartFailedData, ActorStoppedData};

use crate::actors::ActorHandle;
use crate::host::{HostCore, unix_now};
use crate::runtime::LoadedActor;
use crate::{reference, rpc};

pub async fn start(core: &Arc<HostCore>, req: StartActorRequest) -> Result<ActorStarted, String> {
    let result = start_inner(core, &req).await;
    if let Err(e) = &result {
        tracing::warn!(reference = %req.reference, error = %e, "actor start refused");
        core.publish(
            EventType::ActorStartFailed,
            &ActorStartFailedData {
                reference: req.reference.clone(),
                host_id: core.id.clone(),
                error: e.clone(),
            },
        )
        .await;
    }
    result
}

async fn start_inner(
    core: &Arc<HostCore>,
    req: &StartActorRequest,
) -> Result<ActorStarted, String> {
    let (bytes, claims) = fetch_and_verify(core, &req.reference).await?;
    if let Some(existing) = core.actors.get(&claims.sub) {
        return Ok(started(core, &existing, true));
    }
    let loaded = load(core, bytes, claims, req.reference.clone()).await?;
    let max = req.max_concurrent.unwrap_or(core.config.max_concurrent);
    let handle = Arc::new(ActorHandle::new(
        loaded,
        max,
        core.config.queue_depth,
        req.annotations.clone(),
        &req.config,
    ));
    let handle = match core.actors.insert(handle) {
        Ok(h) => h,
        // Started concurrently by another request: that one is in force.
        Err(existing) => return Ok(started(core, &existing, true)),
    };
    if let Err(e) = refuse_while_stopping(core) {
        core.actors.remove_exact(&handle);
        return Err(e);
    }
    if let Err(e) = rpc::subscribe(core, &handle).await {
        core.actors.remove_exact(&handle);
        return Err(e);
    }
    if handle.stop.is_cancelled() {
        return Err(format!("actor {} was stopped while it started", handle.id));
    }
    let reply = started(core, &handle, false);
    tracing::info!(actor = %reply.actor_id, name = %reply.name, code = ?handle.current().origin, "actor started");
    core.publish(EventType::ActorStarted, &reply).await;
    Ok(reply)
}

pub async fn update(core: &Arc<HostCore>, req: UpdateActorRequest) -> Result<ActorStarted, String> {
    let handle = core
        .actors
        .get(&req.actor_id)
        .ok_or_else(|| format!("actor {} does not run on this host", req.actor_id))?;
    let (bytes, claims) = fetch_and_verify(core, &req.reference).await?;
    if claims.sub != req.actor_id {
        return Err(format!(
            "{} is actor {}, not {}: an update must keep the actor id (re-sign it without --subject)",
            req.reference, claims.sub, req.actor_id
        ));
    }
    let loaded = load(core, bytes, claims, req.reference.clone()).await?;
    let old = handle.swap(loaded);
    let reply = started(core, &handle, false);
    tracing::info!(actor = %reply.actor_id, from = %old.claims.floe.version, to = %reply.version, "actor updated");
    core.publish(EventType::ActorUpdated, &reply).await;
    Ok(reply)
}

pub async fn scale(core: &Arc<HostCore>, req: ScaleActorRequest) -> Result<Empty, String> {
    if req.max_concurrent == 0 {
        return Err(
            "max-concurrent must be at least 1 (use `floe stop actor` to stop it)".to_owned(),
        );
    }
    let handle = core
        .actors
        .get(&req.actor_id)
        .ok_or_else(|| format!("actor {} does not run on this host", req.actor_id))?;
    handle.scale(req.max_concurrent);
    core.publish(
        EventType::ActorScaled,
        &ActorScaledData {
            actor_id: req.actor_id.clone(),
            host_id: core.id.clone(),
            max_concurrent: req.max_concurrent,
        },
    )
    .await;
    Ok(Empty {})
}

pub async fn stop(core: &Arc<HostCore>, req: StopActorRequest) -> Result<Empty, String> {
    let handle = core
        .actors
        .remove(&req.actor_id)
        .ok_or_else(|| format!("actor {} does not run on this host", req.actor_id))?;
    handle.stop.cancel();
    // Reply once the actor takes no more calls (its subscription drained).
    if tokio::time::timeout(core.config.shutdown_timeout, handle.drained.cancelled())
        .await
        .is_err()
    {
        tracing::warn!(actor = %req.actor_id, "subscription did not drain in time");
    }
    tracing::info!(actor = %req.actor_id, "actor stopped");
    core.publish(
        EventType::ActorStopped,
        &ActorStoppedData {
            actor_id: req.actor_id.clone(),
            host_id: core.id.clone(),
        },
    )
    .await;
    Ok(Empty {})
}

fn refuse_while_stopping(core: &HostCore) -> Result<(), String> {
    if core.shutdown.is_cancelled() {
        return Err("the host is stopping; start the actor on another host".to_owned());
    }
    Ok(())
}

async fn fetch_and_verify(core: &HostCore, reference: &str) -> Result<(Vec<u8>, Claims), String> {
    let bytes = reference::resolve(core, reference).await?;
    if floe_wire::archive::looks_like_archive(&bytes) {
        return Err(format!(
            "{reference} is a provider archive, not an actor: start it with `floe start provider {reference}`"
        ));
    }
    let claims = claims::verify(&bytes, unix_now(), &core.policy)
        .map_err(|e| format!("{reference} refused: {e}"))?;
    Ok((bytes, claims))
}

async fn load(
    core: &HostCore,
    bytes: Vec<u8>,
    claims: Claims,
    reference: String,
) -> Result<LoadedActor, String> {
    let _turn = core
        .loads
        .acquire()
        .await
        .map_err(|_| "the host is stopping".to_owned())?;
    let runtime = core.runtime.clone();
    let name = claims.floe.name.clone();
    tokio::task::spawn_blocking(move || LoadedActor::load(&runtime, &bytes, claims, reference))
        .await
        .map_err(|e| format!("loading {name} failed: {e}"))?
        .map_err(|e| format!("actor {name} cannot start: {e}"))
}

fn started(core: &HostCore, handle: &ActorHandle, already_running: bool) -> ActorStarted {
    let loaded = handle.current();
    ActorStarted {
        actor_id: handle.id.clone(),
        name: loaded.claims.floe.name.clone(),
        version: loaded.claims.floe.version.clone(),
        revision: loaded.claims.floe.revision,
        host_id: core.id.clone(),
        already_running,
    }
}
