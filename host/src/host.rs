//! The host itself: its identity, its connection, the shared state every
//! task reaches through `Arc<HostCore>`, and the lifecycle from joining the
//! lattice to a graceful stop.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use floe_lattice::LatticeAuth;
use floe_wire::auth::{ClusterSeed, ReplayPolicy, SeedOrigin};
use floe_wire::claims::VerifyPolicy;
use floe_wire::control::{HostInfo, StringMap};
use floe_wire::keys::KeyKind;
use floe_wire::{CloudEvent, EventType, FloeHome, LatticeId, Subject};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::actors::ActorTable;
use crate::config::HostConfig;
use crate::runtime::{Runtime, RuntimeLimits};
use crate::{control, heartbeat};

/// Components read and compiled at once (compiling uses every core anyway).
const CONCURRENT_LOADS: usize = 2;

/// How long a stopping host tries to publish `host_stopped`.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a host could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot find Floe's home directory: {0}")]
    Home(#[from] floe_wire::KeyStoreError),
    #[error(
        "cannot reach NATS at {url}: {reason} (is nats-server running there? `floe up` starts one with a host, or run `nats-server -js`)"
    )]
    Connect { url: String, reason: String },
    #[error("stopped before the host joined the lattice")]
    Stopped,
    #[error("cannot read NATS credentials {path}: {reason}")]
    Creds { path: String, reason: String },
    #[error("cannot subscribe to {subject}: {reason}")]
    Subscribe { subject: String, reason: String },
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error(transparent)]
    Bucket(#[from] floe_lattice::BucketError),
    #[error("cannot read the lattice's links: {reason}")]
    Links { reason: String },
    #[error(
        "cannot find or save the cluster seed: {0} (pass --cluster-seed SC… or set FLOE_CLUSTER_SEED)"
    )]
    Seed(floe_wire::KeyStoreError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// State shared by every task of one host.
#[derive(Debug)]
pub struct HostCore {
    pub id: String,
    pub lattice: LatticeId,
    pub config: HostConfig,
    pub nats: async_nats::Client,
    pub runtime: Runtime,
    pub actors: ActorTable,
    /// Provider processes this host runs.
    pub providers: crate::providers::ProviderTable,
    /// `$FLOE_HOME`: saved keys (provider ids), the cluster seed, caches.
    pub home: FloeHome,
    pub policy: VerifyPolicy,
    /// Cancelled when the host should stop (signal or `ctl.{id}.stop`).
    pub shutdown: CancellationToken,
    /// Every task the host spawns, so a stop can wait for them.
    pub tracker: TaskTracker,
    /// Links known to this host, followed from the lattice bucket.
    pub links: Arc<crate::links::LinkTable>,
    /// Seals what this host publishes and verifies what it receives.
    pub auth: Arc<LatticeAuth>,
    /// Publishes what actors log to their log streams.
    pub logs: Arc<dyn crate::runtime::LogSink>,
    /// Sends link-routed imports to their targets.
    pub router: Arc<dyn crate::runtime::Router>,
    /// What `--metrics-addr` serves.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Payloads too large for one NATS message, in calls this host serves.
    pub payloads: Arc<floe_lattice::rpc::PayloadStore>,
    /// Hosts the embedded reconciler hears heartbeats from (0 until known).
    pub lattice_hosts: Arc<std::sync::atomic::AtomicUsize>,
    /// Bounds how many components are read and compiled at once, so a burst
    /// of starts cannot exhaust the host's memory.
    pub loads: tokio::sync::Semaphore,
    labels: Mutex<StringMap>,
    started_at: SystemTime,
    started: Instant,
}

/// A running host.
#[derive(Debug)]
pub struct Host {
    core: Arc<HostCore>,
}

impl Host {
    /// Joins the lattice: connects, builds the engine, answers control
    /// requests, and announces itself.
    pub async fn start(config: HostConfig, shutdown: CancellationToken) -> Result<Self, HostError> {
        let home = FloeHome::from_env()?;
        let key = match &config.host_key {
            Some(name_or_seed) => home.keys().resolve(name_or_seed, KeyKind::Host)?.0,
            None => KeyKind::Host.generate(),
        };
        let id = key.public_key();
        let auth = Arc::new(lattice_auth(&config, &home)?);
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let nats = connect(&config, &id, &metrics, &shutdown).await?;
        let runtime = Runtime::new(RuntimeLimits {
            max_instances: config.max_instances,
            max_memory_per_instance: config.max_memory_per_instance,
            cache_dir: Some(
                config
                    .cache_dir
                    .clone()
                    .unwrap_or_else(|| home.root().join("cache").join("compiled")),
            ),
        })?;
        if config.allowed_issuers.is_empty() {
            tracing::warn!("no --allowed-issuer set: actors signed by any issuer are accepted");
        }
        let links = Arc::new(crate::links::LinkTable::default());
        let payloads = Arc::new(
            floe_lattice::rpc::PayloadStore::new(nats.clone(), config.lattice.clone())
                .with_limit(config.max_call_bytes),
        );
        let router: Arc<dyn crate::runtime::Router> = Arc::new(crate::routing::LinkRouter {
            requester: floe_lattice::Requester::new(nats.clone(), auth.clone())
                .with_max_call_bytes(config.max_call_bytes),
            host_id: id.clone(),
            links: links.clone(),
        });
        let bucket = floe_lattice::open_bucket(&nats, &config.lattice).await?;
        if let Err(e) = floe_lattice::open_log_stream(&nats, &config.lattice).await {
            tracing::warn!("actors' log lines will not be kept: {e}");
        }
        let logs: Arc<dyn crate::runtime::LogSink> = Arc::new(crate::logs::LogPublisher::spawn(
            nats.clone(),
            auth.clone(),
            id.clone(),
        ));
        let mut labels: StringMap = config.labels.iter().cloned().collect();
        labels.insert("floe.os".into(), std::env::consts::OS.into());
        labels.insert("floe.arch".into(), std::env::consts::ARCH.into());
        let core = Arc::new(HostCore {
            id,
            lattice: config.lattice.clone(),
            policy: VerifyPolicy {
                allowed_issuers: config.allowed_issuers.clone(),
                ..VerifyPolicy::default()
            },
            config,
            nats,
            runtime,
            actors: ActorTable::default(),
            providers: crate::providers::ProviderTable::default(),
            home: home.clone(),
            shutdown,
            tracker: TaskTracker::new(),
            logs,
            auth,
            links,
            router,
            metrics,
            payloads,
            lattice_hosts: Arc::default(),
            loads: tokio::sync::Semaphore::new(CONCURRENT_LOADS),
            labels: Mutex::new(labels),
            started_at: SystemTime::now(),
            started: Instant::now(),
        });
        crate::links::follow(&core, bucket)
            .await
            .map_err(|reason| HostError::Links { reason })?;
        control::serve(&core).await?;
        if let Some(address) = core.config.metrics_addr {
            let local = crate::metrics::serve(&core, address).await?;
            tracing::info!("metrics at http://{local}/metrics");
        }
        heartbeat::spawn(&core);
        crate::reconcile::spawn(&core);
        core.publish(EventType::HostStarted, &core.info()).await;
        tracing::info!(host = %core.id, lattice = %core.lattice, "host started");
        Ok(Host { core })
    }

    pub fn id(&self) -> &str {
        &self.core.id
    }

    /// Serves until the shutdown token is cancelled, then stops gracefully:
    /// no new calls are taken, in-flight calls finish (up to the shutdown
    /// timeout), and `host_stopped` is published.
    pub async fn run_until_stopped(self) {
        let core = self.core;
        core.shutdown.cancelled().await;
        tracing::info!(host = %core.id, "stopping: draining in-flight calls");
        for actor in core.actors.all() {
            actor.stop.cancel();
        }
        crate::providers::stop_all(&core).await;
        core.tracker.close();
        if tokio::time::timeout(core.config.shutdown_timeout, core.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("in-flight calls did not finish within the shutdown timeout");
        }
        // Say goodbye if NATS is still there; never hang on a lost server.
        let goodbye = async {
            core.publish(EventType::HostStopped, &core.info()).await;
            core.nats.flush().await
        };
        if !matches!(
            tokio::time::timeout(FAREWELL_TIMEOUT, goodbye).await,
            Ok(Ok(()))
        ) {
            tracing::warn!("could not publish host_stopped: NATS is unreachable");
        }
        tracing::info!(host = %core.id, "host stopped");
    }
}

/// Starts a host and serves until `shutdown` is cancelled.
pub async fn run(config: HostConfig, shutdown: CancellationToken) -> Result<(), HostError> {
    let host = match Host::start(config, shutdown).await {
        Ok(host) => host,
        // Told to stop while it waited (for NATS, say): a clean end.
        Err(HostError::Stopped) => return Ok(()),
        Err(e) => return Err(e),
    };
    host.run_until_stopped().await;
    Ok(())
}

/// The lattice key from the cluster seed (found or generated, DESIGN.md
/// order), plus the seeds still accepted during a rotation.
fn lattice_auth(config: &HostConfig, home: &FloeHome) -> Result<LatticeAuth, HostError> {
    let seed = ClusterSeed::find_or_generate(config.cluster_seed.as_deref(), home)
        .map_err(HostError::Seed)?;
    let accepted = config
        .accept_cluster_seeds
        .iter()
        .map(|s| ClusterSeed::parse(s, home, SeedOrigin::Flag).map(|c| c.expose().to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(HostError::Seed)?;
    let auth = LatticeAuth::from_seeds(
        config.lattice.clone(),
        seed.expose(),
        &accepted,
        ReplayPolicy {
            window: config.auth_window,
            skew: config.auth_skew,
            ..ReplayPolicy::default()
        },
    );
    match &seed.origin {
        SeedOrigin::Generated(path) => tracing::warn!(
            key_id = auth.key_id(),
            "no cluster seed was given: generated one and saved it in {}. Every other host and \
             client of lattice {} needs the same seed: pass --cluster-seed, set FLOE_CLUSTER_SEED, \
             or copy that file to their $FLOE_HOME/keys/",
            path.display(),
            config.lattice
        ),
        origin => tracing::info!(key_id = auth.key_id(), from = %origin, "lattice key ready"),
    }
    Ok(auth)
}

async fn connect(
    config: &HostConfig,
    id: &str,
    metrics: &Arc<crate::metrics::Metrics>,
    shutdown: &CancellationToken,
) -> Result<async_nats::Client, HostError> {
    let mut options = match &config.creds {
        Some(path) => async_nats::ConnectOptions::with_credentials_file(path.clone())
            .await
            .map_err(|e| HostError::Creds {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?,
        None => async_nats::ConnectOptions::new(),
    };
    let watched = metrics.clone();
    options = options
        .event_callback(move |event| {
            let watched = watched.clone();
            async move { watched.nats_event(&event) }
        })
        .name(format!("floe-host {id}"))
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5));
    let urls = config.nats_url.clone();
    let addrs =
        floe_lattice::servers::server_addrs(&urls).map_err(|reason| HostError::Connect {
            url: urls.clone(),
            reason,
        })?;
    // With retry_on_initial_connect the client retries in the background
    // (backoff up to a few seconds between attempts) and `connect` returns
    // before it is connected: wait for the connection, at most
    // --connect-timeout, saying so now and then, and give up at once on a
    // stop.
    let client = options
        .connect(addrs)
        .await
        .map_err(|e| HostError::Connect {
            url: urls.clone(),
            reason: e.to_string(),
        })?;
    let started = Instant::now();
    let mut said = Instant::now();
    while client.connection_state() != async_nats::connection::State::Connected {
        if started.elapsed() >= config.connect_timeout {
            return Err(HostError::Connect {
                url: urls,
                reason: format!(
                    "no connection within {:?} (--connect-timeout)",
                    config.connect_timeout
                ),
            });
        }
        if said.elapsed() >= CONNECT_NOTICE {
            tracing::warn!(url = %urls, "cannot reach NATS yet; retrying");
            said = Instant::now();
        }
        tokio::select! {
            () = shutdown.cancelled() => return Err(HostError::Stopped),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    Ok(client)
}

/// How often a host waiting for NATS says it still waits.
const CONNECT_NOTICE: Duration = Duration::from_secs(2);

impl HostCore {
    pub fn labels(&self) -> StringMap {
        self.labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn update_labels(&self, change: impl FnOnce(&mut StringMap)) -> StringMap {
        let mut labels = self
            .labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut labels);
        labels.clone()
    }

    pub fn info(&self) -> HostInfo {
        HostInfo {
            host_id: self.id.clone(),
            lattice: self.lattice.to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            target: crate::provider_source::HOST_TARGET.to_owned(),
            labels: self.labels(),
            started_at: humantime::format_rfc3339_seconds(self.started_at).to_string(),
            uptime_secs: self.started.elapsed().as_secs(),
            actors: self.actors.len(),
            providers: self.providers.all().len(),
            rejected: self.auth.rejected_by_reason(),
            lattice_hosts: self
                .lattice_hosts
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Publishes an event; failures are logged, never fatal.
    pub async fn publish(&self, kind: EventType, data: &impl Serialize) {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        let event = CloudEvent::new(kind, &self.id, now_rfc3339(), data);
        let subject = Subject::Event(kind).render(&self.lattice);
        match serde_json::to_vec(&event) {
            Ok(bytes) => {
                if let Err(e) = self.auth.publish(&self.nats, subject, bytes.into()).await {
                    tracing::warn!(event = kind.name(), error = %e, "cannot publish event");
                }
            }
            Err(e) => tracing::warn!(event = kind.name(), error = %e, "cannot encode event"),
        }
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
