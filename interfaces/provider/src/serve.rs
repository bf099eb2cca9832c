//! The loops behind [`run`]: invocations on `rpc.{provider_id}` (queue group
//! = provider id), health and shutdown on `prov.{provider_id}.{host_id}.…`,
//! and the link watch; all authenticated. Stops on the host's shutdown
//! request or SIGTERM, after answering the calls already taken.

use std::sync::Arc;
use std::time::Duration;

use floe_lattice::rpc::{Call, Handler, PayloadStore, ServeConfig, Server};
use floe_lattice::{LatticeAuth, LinkChange};
use floe_wire::auth::ReplayPolicy;
use floe_wire::control::{ControlReply, Empty};
use floe_wire::provider::HostData;
use floe_wire::subject::ProviderOp;
use floe_wire::{Encoding, ErrorKind, InvocationError, LatticeId, Subject};
use futures::StreamExt as _;

use crate::{Context, Invocation, Provider, ProviderError};

/// Longest wait for calls in flight when stopping.
const DRAIN: Duration = Duration::from_secs(5);

/// Bounds on the calls a provider serves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Calls run at once; past it a call is answered `busy` at once.
    pub max_in_flight: usize,
    /// The longest a call may run, whatever its caller asks (and the
    /// deadline of a call that names none).
    pub max_deadline: Duration,
    /// The largest payload a call may carry, either way.
    pub max_call_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_in_flight: floe_lattice::rpc::DEFAULT_MAX_IN_FLIGHT,
            max_deadline: Duration::from_secs(60),
            max_call_bytes: floe_lattice::rpc::DEFAULT_MAX_CALL_BYTES,
        }
    }
}

/// Reads the host data from stdin and serves until told to stop.
pub async fn run<P: Provider>(provider: P) -> Result<(), ProviderError> {
    let data = crate::host_data::read().await?;
    run_with(provider, data).await
}

/// Serves with the given host data until told to stop.
pub async fn run_with<P: Provider>(provider: P, data: HostData) -> Result<(), ProviderError> {
    run_with_options(provider, data, ServeOptions::default()).await
}

/// Serves with the given host data and bounds until told to stop.
pub async fn run_with_options<P: Provider>(
    provider: P,
    data: HostData,
    options: ServeOptions,
) -> Result<(), ProviderError> {
    let (lattice, auth, nats) = join(&data).await?;
    let ctx = Context::new(data, nats.clone(), Arc::new(auth), options.max_call_bytes);
    let provider = Arc::new(provider);
    let id = ctx.provider_id().to_owned();
    let host = ctx.host_data().host_id.clone();
    let subscribe = |subject: String, queue: Option<String>| {
        let nats = nats.clone();
        async move {
            let result = match queue {
                Some(q) => nats.queue_subscribe(subject.clone(), q).await,
                None => nats.subscribe(subject.clone()).await,
            };
            result.map_err(|e| ProviderError::Subscribe {
                subject,
                reason: e.to_string(),
            })
        }
    };
    let own = |op| {
        Subject::Provider {
            provider: id.clone(),
            host: host.clone(),
            op,
        }
        .render(&lattice)
    };
    let health = subscribe(own(ProviderOp::Health), None).await?;
    let shutdown = subscribe(own(ProviderOp::Shutdown), None).await?;
    // Links first: a call served before the provider knows its links would
    // be refused (a key-value provider checks the caller's link).
    let store = floe_lattice::open_bucket(&nats, &lattice).await?;
    let links = floe_lattice::KeyWatch::links(store.clone())
        .await
        .map_err(|e| ProviderError::Subscribe {
            subject: "the lattice's links".to_owned(),
            reason: e.to_string(),
        })?;
    if let Ok(entries) = floe_lattice::read_all(&store, &ctx.auth).await {
        for entry in entries {
            apply_change(&ctx, provider.as_ref(), entry).await;
        }
    }
    let calls = subscribe(
        Subject::Rpc { entity: id.clone() }.render(&lattice),
        Some(id.clone()),
    )
    .await?;
    let _ = nats.flush().await;
    let sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| ProviderError::Subscribe {
            subject: "SIGTERM".to_owned(),
            reason: e.to_string(),
        })?;
    let tracker = tokio_util::task::TaskTracker::new();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = Server::new(
        nats.clone(),
        ctx.auth.clone(),
        Arc::new(
            PayloadStore::new(nats.clone(), lattice.clone()).with_limit(options.max_call_bytes),
        ),
        Arc::new(ProviderCalls {
            ctx: ctx.clone(),
            provider: provider.clone(),
        }),
        ServeConfig {
            entity: id.clone(),
            kind: "provider",
            max_deadline: options.max_deadline,
            max_in_flight: options.max_in_flight,
            drain_timeout: DRAIN,
        },
    );
    let serving = tokio::spawn(server.serve(calls, stop.clone(), tracker.clone()));
    tokio::pin!(serving);
    tracing::info!(provider = %id, host = %host, "provider serving");
    let stops = Stops {
        health,
        shutdown,
        links,
        sigterm,
    };
    let served = until_stopped(&ctx, provider.as_ref(), stops, &mut serving).await;
    stop.cancel();
    if !served {
        let _ = tokio::time::timeout(DRAIN, &mut serving).await;
    }
    tracker.close();
    let _ = tokio::time::timeout(DRAIN, tracker.wait()).await;
    provider.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), nats.flush()).await;
    Ok(())
}

/// Joins the lattice the host data names: its key and a connection.
async fn join(
    data: &HostData,
) -> Result<(LatticeId, LatticeAuth, async_nats::Client), ProviderError> {
    let lattice: LatticeId = data
        .lattice
        .parse()
        .map_err(|e| ProviderError::HostData(format!("lattice: {e}")))?;
    let policy = ReplayPolicy {
        window: Duration::from_millis(data.auth_window_ms),
        skew: Duration::from_millis(data.auth_skew_ms),
        ..ReplayPolicy::default()
    };
    let auth = LatticeAuth::from_key_data(lattice.clone(), &data.lattice_keys, policy)
        .map_err(|e| ProviderError::HostData(e.to_string()))?;
    let nats = connect(data).await?;
    Ok((lattice, auth, nats))
}

/// What can stop a provider, besides its calls' subscription ending.
struct Stops {
    health: async_nats::Subscriber,
    shutdown: async_nats::Subscriber,
    links: floe_lattice::KeyWatch,
    sigterm: tokio::signal::unix::Signal,
}

/// Answers health checks and applies link changes until the host asks the
/// provider to stop, SIGTERM, the loss of its parent, or the end of
/// `serving`; true in that last case.
async fn until_stopped<P: Provider>(
    ctx: &Context,
    provider: &P,
    mut stops: Stops,
    serving: &mut std::pin::Pin<&mut tokio::task::JoinHandle<()>>,
) -> bool {
    let orphan = orphaned(std::os::unix::process::parent_id());
    tokio::pin!(orphan);
    let (mut health_open, mut shutdown_open) = (true, true);
    loop {
        tokio::select! {
            _ = serving.as_mut() => return true,
            msg = stops.health.next(), if health_open => match msg {
                Some(msg) => {
                    let report = match ctx.auth.verify(&msg) {
                        Ok(()) => Some(provider.health().await),
                        Err(_) => None,
                    };
                    if let (Some(report), Some(reply)) = (report, msg.reply) {
                        reply_json(ctx, reply.to_string(), &ControlReply::ok(report)).await;
                    }
                }
                None => health_open = false,
            },
            msg = stops.shutdown.next(), if shutdown_open => match msg {
                Some(msg) if ctx.auth.verify(&msg).is_ok() => {
                    tracing::info!("shutdown requested by the host");
                    if let Some(reply) = msg.reply {
                        reply_json(ctx, reply.to_string(), &ControlReply::ok(Empty {})).await;
                    }
                    return false;
                }
                Some(_) => {}
                None => shutdown_open = false,
            },
            entry = stops.links.next() => apply_link(ctx, provider, &entry).await,
            _ = stops.sigterm.recv() => {
                tracing::info!("SIGTERM: stopping");
                return false;
            }
            _ = &mut orphan => {
                tracing::warn!("the host that started this provider is gone: stopping");
                return false;
            }
        }
    }
}

/// Resolves once this process's parent is no longer `parent`: the host died
/// (even by SIGKILL, when it could not stop its children) and the provider
/// was handed to another process.
async fn orphaned(parent: u32) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

async fn reply_json<T: serde::Serialize>(ctx: &Context, reply: String, body: &T) {
    if let Ok(bytes) = serde_json::to_vec(body)
        && let Err(e) = ctx.auth.publish(&ctx.nats, reply, bytes.into()).await
    {
        tracing::warn!(error = %e, "cannot reply");
    }
}

async fn apply_link<P: Provider>(
    ctx: &Context,
    provider: &P,
    entry: &async_nats::jetstream::kv::Entry,
) {
    match floe_lattice::read_entry(&ctx.auth, entry) {
        Ok(entry) => apply_change(ctx, provider, entry).await,
        Err(e) => tracing::warn!("ignoring a link entry: {e}"),
    }
}

async fn apply_change<P: Provider>(ctx: &Context, provider: &P, entry: floe_lattice::LinkEntry) {
    let id = ctx.provider_id();
    match entry.change {
        LinkChange::Put(link) if link.source == id || link.target == id => {
            ctx.links
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(entry.key, link.clone());
            provider.link_put(ctx, &link).await;
        }
        // A link put again without this provider, or deleted: gone for it.
        LinkChange::Put(_) | LinkChange::Removed => {
            let removed = ctx
                .links
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&entry.key);
            if let Some(link) = removed {
                provider.link_deleted(ctx, &link).await;
            }
        }
    }
}

/// Runs a provider's calls: the SDK's side of floe-lattice's invocation
/// server (which verifies, bounds, decodes, caps deadlines and replies).
struct ProviderCalls<P> {
    ctx: Arc<Context>,
    provider: Arc<P>,
}

impl<P: Provider> Handler for ProviderCalls<P> {
    async fn call(&self, call: &Call) -> Result<floe_wire::Answer, InvocationError> {
        let envelope = &call.envelope;
        if envelope.encoding != Encoding::Msgpack {
            return Err(InvocationError::new(
                ErrorKind::BadArguments,
                "providers take msgpack payloads (docs/wire-values.md)",
            ));
        }
        let invocation = Invocation {
            id: envelope.id,
            origin: envelope.origin.clone(),
            operation: envelope.operation.clone(),
            payload: envelope.payload.to_vec(),
            deadline: call.deadline,
            trace: call.span.clone(),
        };
        self.provider
            .invoke(&self.ctx, invocation)
            .await
            .map(floe_wire::Answer::from)
    }
}

async fn connect(data: &HostData) -> Result<async_nats::Client, ProviderError> {
    let err = |reason: String| ProviderError::Connect {
        url: data.nats_url.clone(),
        reason,
    };
    let options = match &data.nats_creds {
        Some(path) => async_nats::ConnectOptions::with_credentials_file(path.clone())
            .await
            .map_err(|e| err(format!("credentials {path}: {e}")))?,
        None => async_nats::ConnectOptions::new(),
    };
    options
        .name(format!("floe provider {} on {}", data.name, data.host_id))
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(
            floe_lattice::servers::server_addrs(&data.nats_url).map_err(|e| err(e.to_string()))?,
        )
        .await
        .map_err(|e| err(e.to_string()))
}
