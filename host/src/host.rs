//! The host itself: builds its rooms — the bus, the tasks, the actors'
//! lifecycle, the providers, the control interface, the status — each
//! given only the handles it uses, and runs from joining the lattice to a
//! graceful stop. Nothing else in the crate imports this module.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use floe_lattice::LatticeAuth;
use floe_reconciler::ReconcilerConfig;
use floe_wire::auth::{ClusterSeed, ReplayPolicy, SeedOrigin};
use floe_wire::claims::VerifyPolicy;
use floe_wire::control::StringMap;
use floe_wire::keys::KeyKind;
use floe_wire::{EventType, FloeHome};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::actors::ActorTable;
use crate::bus::Bus;
use crate::config::HostConfig;
use crate::control::{Control, ControlError};
use crate::ingress::{Ingress, IngressSettings};
use crate::lifecycle::{ActorSettings, Lifecycle};
use crate::links::{LinkTable, LinksError};
use crate::live_config::LiveConfig;
use crate::loader::Loader;
use crate::logs::{LogDrain, LogPublisher};
use crate::provider_source::Sources;
use crate::providers::{ProviderSettings, ProviderTable, Providers, Supervisor};
use crate::reference::Artifacts;
use crate::routing::LinkRouter;
use crate::rpc::Serving;
use crate::runtime::{Runtime, RuntimeLimits};
use crate::secrets::HostSecrets;
use crate::status::Status;
use crate::tasks::Tasks;

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
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error(transparent)]
    Bucket(#[from] floe_lattice::BucketError),
    #[error(transparent)]
    Links(#[from] LinksError),
    #[error(
        "cannot find or save the cluster seed: {0} (pass --cluster-seed SC… or set FLOE_CLUSTER_SEED)"
    )]
    Seed(floe_wire::KeyStoreError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(transparent)]
    SecretsKeys(#[from] crate::secrets::KeyringError),
    #[error(transparent)]
    Config(#[from] crate::live_config::ConfigError),
    #[error(transparent)]
    Ingress(#[from] crate::ingress::IngressError),
}

/// A running host: the handles it was built from, kept for its stop.
#[derive(Debug)]
pub struct Host {
    bus: Bus,
    tasks: Tasks,
    status: Status,
    lifecycle: Lifecycle,
    providers: Providers,
    logs: LogDrain,
    shutdown_timeout: Duration,
}

impl Host {
    /// Joins the lattice: connects, builds the engine, answers control
    /// requests, and announces itself.
    pub async fn start(config: HostConfig, shutdown: CancellationToken) -> Result<Self, HostError> {
        let home = match &config.home {
            Some(root) => FloeHome::at(root),
            None => FloeHome::from_env()?,
        };
        let key = match &config.host_key {
            Some(name_or_seed) => home.keys().resolve(name_or_seed, KeyKind::Host)?.0,
            None => KeyKind::Host.generate(),
        };
        let id = key.public_key();
        let (auth, cluster_seeds) = lattice_auth(&config, &home)?;
        let auth = Arc::new(auth);
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
            reuse: config.reuse,
            shared: crate::runtime::SharedLimits {
                max_concurrent: config.max_concurrent_per_instance,
                max_calls: config.max_calls_per_instance,
            },
        })?;
        if config.allowed_issuers.is_empty() {
            tracing::warn!("no --allowed-issuer set: actors signed by any issuer are accepted");
        }
        let bus = Bus::new(id.clone(), nats.clone(), auth.clone());
        let tasks = Tasks::new(shutdown);
        let links = Arc::new(LinkTable::default());
        let bucket = floe_lattice::open_bucket(&nats, &config.lattice).await?;
        if let Err(e) = floe_lattice::open_log_stream(&nats, &config.lattice).await {
            tracing::warn!("actors' log lines will not be kept: {e}");
        }
        let (log_publisher, logs) = LogPublisher::spawn(bus.clone());
        let loader = Loader {
            runtime: runtime.clone(),
            artifacts: Artifacts::new(bus.clone(), home.root().join("cache")),
            loads: Arc::new(Semaphore::new(CONCURRENT_LOADS)),
            policy: VerifyPolicy {
                allowed_issuers: config.allowed_issuers.clone(),
                ..VerifyPolicy::default()
            },
        };
        let serving = Serving {
            bus: bus.clone(),
            tasks: tasks.clone(),
            runtime,
            loader,
            payloads: Arc::new(
                floe_lattice::rpc::PayloadStore::new(nats.clone(), config.lattice.clone())
                    .with_limit(config.max_call_bytes),
            ),
            router: Arc::new(LinkRouter {
                requester: floe_lattice::Requester::new(nats.clone(), auth.clone())
                    .with_max_call_bytes(config.max_call_bytes),
                host_id: id.clone(),
                links: links.clone(),
            }),
            logs: Arc::new(log_publisher),
            metrics: config.metrics_addr.map(|_| metrics.clone()),
            max_deadline: config.invocation_timeout,
            drain_timeout: config.shutdown_timeout,
        };
        let lattice_hosts = Arc::new(AtomicUsize::new(0));
        let seeds: Vec<&str> = cluster_seeds.iter().map(|s| s.as_str()).collect();
        let secrets = Arc::new(HostSecrets::new(
            crate::secrets::keyring(&config.secrets_keys, &seeds, &config.lattice)?,
            floe_lattice::secrets::Secrets::open(&nats, auth.clone()).await?,
        ));
        drop(cluster_seeds);
        let actors = Arc::new(ActorTable::default());
        let live = Arc::new(LiveConfig::new(actors.clone(), secrets.clone()));
        let ingress = config.ingress.map(|address| {
            Arc::new(Ingress::new(
                actors.clone(),
                serving.clone(),
                floe_lattice::Requester::new(nats.clone(), auth.clone())
                    .with_max_call_bytes(config.max_call_bytes),
                IngressSettings {
                    address,
                    tls_address: config.ingress_tls,
                    max_connections: config.ingress_max_connections,
                    max_body: config.ingress_max_body,
                    header_timeout: config.ingress_header_timeout,
                    request_timeout: config.ingress_timeout,
                },
                metrics.clone(),
                secrets.clone(),
            ))
        });
        let (status, lifecycle, providers) = rooms(
            &config,
            &home,
            &tasks,
            serving,
            (actors, live.clone()),
            lattice_hosts.clone(),
        );
        crate::links::follow(links, auth.clone(), &tasks, bucket.clone()).await?;
        crate::live_config::follow(live.clone(), auth.clone(), &tasks, bucket.clone()).await?;
        if let Some(ingress) = ingress {
            let listening = crate::ingress::start(ingress, auth.clone(), &tasks, bucket).await?;
            status.update_labels(|labels| {
                labels.insert("floe.ingress".into(), "true".into());
            });
            tracing::info!("ingress at http://{}/", listening.plain);
            if let Some(tls) = listening.tls {
                tracing::info!("ingress TLS at https://{tls}/");
            }
        }
        let lease =
            floe_lattice::lease::open_lease_bucket(&nats, &config.lattice, config.lease_ttl)
                .await?;
        crate::rekey::spawn(
            secrets,
            floe_lattice::lease::Lease::new(lease, auth.clone(), &id),
            live.key_record_changed.clone(),
            &tasks,
            config.reconcile_interval,
        );
        let control = Control {
            bus: bus.clone(),
            tasks: tasks.clone(),
            status: status.clone(),
            lifecycle: lifecycle.clone(),
            providers: providers.clone(),
            payloads: lifecycle.serving.payloads.clone(),
        };
        open_for_business(&config, &control, metrics, lattice_hosts).await?;
        Ok(Host {
            bus,
            tasks,
            status,
            lifecycle,
            providers,
            logs,
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    pub fn id(&self) -> &str {
        self.bus.host_id()
    }

    /// Serves until the shutdown token is cancelled, then stops gracefully:
    /// no new calls are taken, in-flight calls finish (up to the shutdown
    /// timeout), their last log lines go out, and `host_stopped` is
    /// published.
    pub async fn run_until_stopped(self) {
        let Host {
            bus,
            tasks,
            status,
            lifecycle,
            providers,
            logs,
            shutdown_timeout,
        } = self;
        tasks.stopping().await;
        tracing::info!(host = %bus.host_id(), "stopping: draining in-flight calls");
        lifecycle.stop_all();
        providers.stop_all().await;
        if !tasks.drain(shutdown_timeout).await {
            tracing::warn!("in-flight calls did not finish within the shutdown timeout");
        }
        logs.finish(FAREWELL_TIMEOUT).await;
        // Say goodbye if NATS is still there; never hang on a lost server.
        let goodbye = async {
            bus.publish(EventType::HostStopped, &status.info()).await;
            bus.nats().flush().await
        };
        if !matches!(
            tokio::time::timeout(FAREWELL_TIMEOUT, goodbye).await,
            Ok(Ok(()))
        ) {
            tracing::warn!("could not publish host_stopped: NATS is unreachable");
        }
        tracing::info!(host = %bus.host_id(), "host stopped");
    }
}

/// Answers control requests, serves metrics, beats, runs the reconciler,
/// and says the host started.
async fn open_for_business(
    config: &HostConfig,
    control: &Control,
    metrics: Arc<crate::metrics::Metrics>,
    lattice_hosts: Arc<AtomicUsize>,
) -> Result<(), HostError> {
    let (bus, tasks, status) = (&control.bus, &control.tasks, &control.status);
    control.serve().await?;
    if let Some(address) = config.metrics_addr {
        let local = crate::metrics::serve(metrics, status.clone(), tasks, address).await?;
        tracing::info!("metrics at http://{local}/metrics");
    }
    crate::heartbeat::spawn(bus.clone(), status.clone(), tasks, config.heartbeat);
    crate::reconcile::spawn(bus.clone(), tasks, lattice_hosts, reconciler_config(config));
    bus.publish(EventType::HostStarted, &status.info()).await;
    tracing::info!(host = %bus.host_id(), lattice = %config.lattice, "host started");
    Ok(())
}

/// The rooms that act on the host's actors and providers, and its status,
/// built around `serving`.
fn rooms(
    config: &HostConfig,
    home: &FloeHome,
    tasks: &Tasks,
    serving: Serving,
    (actors, live): (Arc<ActorTable>, Arc<LiveConfig>),
    lattice_hosts: Arc<AtomicUsize>,
) -> (Status, Lifecycle, Providers) {
    let bus = serving.bus.clone();
    let mut labels: StringMap = config.labels.iter().cloned().collect();
    labels.insert("floe.os".into(), std::env::consts::OS.into());
    labels.insert("floe.arch".into(), std::env::consts::ARCH.into());
    let provider_table = Arc::new(ProviderTable::default());
    let provider_secrets = live.secrets().clone();
    let status = Status::new(
        bus.clone(),
        labels,
        lattice_hosts,
        actors.clone(),
        provider_table.clone(),
    )
    .with_secrets_keys(live.secrets().key_ids());
    let loader = serving.loader.clone();
    crate::dormancy::spawn(actors.clone(), tasks, config.idle_check);
    let lifecycle = Lifecycle {
        bus: bus.clone(),
        tasks: tasks.clone(),
        actors,
        live,
        loader: loader.clone(),
        serving,
        settings: ActorSettings {
            max_concurrent: config.max_concurrent,
            queue_depth: config.queue_depth,
            stop_timeout: config.shutdown_timeout,
            idle_after: config.idle_after.0,
        },
    };
    let providers = Providers {
        secrets: provider_secrets,
        table: provider_table,
        sources: Sources::new(loader.artifacts, loader.loads, loader.policy, home.clone()),
        supervisor: Supervisor {
            bus,
            tasks: tasks.clone(),
            settings: ProviderSettings {
                nats_url: config.nats_url.clone(),
                creds: config.creds.clone(),
                auth_window: config.auth_window,
                auth_skew: config.auth_skew,
                health_interval: config.provider_health_interval,
                start_timeout: config.provider_start_timeout,
                shutdown_grace: config.provider_shutdown_grace,
            },
        },
    };
    (status, lifecycle, providers)
}

/// The embedded reconciler's timing, from the host's flags.
fn reconciler_config(config: &HostConfig) -> ReconcilerConfig {
    ReconcilerConfig {
        lease_ttl: config.lease_ttl,
        heartbeat: config.heartbeat,
        missed_beats: config.missed_beats,
        interval: config.reconcile_interval,
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
/// The seeds are returned for deriving the secrets keys, then dropped.
fn lattice_auth(
    config: &HostConfig,
    home: &FloeHome,
) -> Result<(LatticeAuth, Vec<zeroize::Zeroizing<String>>), HostError> {
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
    let seeds = std::iter::once(seed.expose().to_owned())
        .chain(accepted)
        .map(zeroize::Zeroizing::new)
        .collect();
    Ok((auth, seeds))
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
    let addrs = floe_lattice::servers::server_addrs(&urls).map_err(|e| HostError::Connect {
        url: urls.clone(),
        reason: e.to_string(),
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
