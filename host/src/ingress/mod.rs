//! Ingress (docs/ingress.md): a host started with `--ingress ADDR` serves
//! every route of the lattice on one listener. Routes are followed from
//! the lattice bucket (`route.`) and compiled into a table swapped whole
//! on each change, so a change never drops a connection. A request whose
//! target has a replica on this host with a free instance runs here, in
//! process; otherwise it goes over the lattice to another replica, as any
//! call does.
//!
//! - `forward`: one request: match, read the body, run it here or send
//!   it, answer.
//! - `listen`: the listeners: accepts within a connection limit, HTTP/1.1
//!   and HTTP/2, header timeouts; TLS on `--ingress-tls`.
//! - `tls`: certificates by SNI from the routes' `tls` secrets.

mod forward;
mod listen;
mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv;
use floe_lattice::routes::RouteChange;
use floe_lattice::{LatticeAuth, Requester};
use floe_wire::ingress::{ROUTE_KEY_PREFIX, Route, RouteTable};

use crate::actors::ActorTable;
use crate::metrics::Metrics;
use crate::rpc::Serving;
use crate::secrets::HostSecrets;
use crate::tasks::Tasks;

/// Why ingress could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error(
        "cannot listen for ingress on {address}: {reason} (is another process using it? pick another --ingress address)"
    )]
    Bind { address: SocketAddr, reason: String },
    #[error("cannot watch the lattice's routes: {0}")]
    Watch(String),
}

/// How the listener behaves.
#[derive(Debug, Clone, Copy)]
pub struct IngressSettings {
    pub address: SocketAddr,
    /// Where to serve TLS, if anywhere.
    pub tls_address: Option<SocketAddr>,
    /// Connections open at once, at most; more wait to be accepted.
    pub max_connections: usize,
    /// The most a request body may hold.
    pub max_body: usize,
    /// How long a client has to send a request's headers.
    pub header_timeout: Duration,
    /// How long a request may take when its route does not say.
    pub request_timeout: Duration,
}

/// What serving ingress takes.
pub struct Ingress {
    table: RwLock<Arc<RouteTable>>,
    routes: Mutex<BTreeMap<String, Route>>,
    actors: Arc<ActorTable>,
    serving: Serving,
    requester: Requester,
    settings: IngressSettings,
    metrics: Arc<Metrics>,
    secrets: Arc<HostSecrets>,
    certificates: Arc<tls::Certificates>,
    /// Woken when the routes change (certificates are loaded again).
    routes_changed: tokio::sync::Notify,
    /// The TLS listener's port, once bound (for HTTPS redirects).
    tls_port: std::sync::OnceLock<u16>,
}

impl std::fmt::Debug for Ingress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingress")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Ingress {
    pub fn new(
        actors: Arc<ActorTable>,
        serving: Serving,
        requester: Requester,
        settings: IngressSettings,
        metrics: Arc<Metrics>,
        secrets: Arc<HostSecrets>,
    ) -> Self {
        Ingress {
            table: RwLock::new(Arc::default()),
            routes: Mutex::new(BTreeMap::new()),
            actors,
            serving,
            requester,
            settings,
            metrics,
            secrets,
            certificates: Arc::default(),
            routes_changed: tokio::sync::Notify::new(),
            tls_port: std::sync::OnceLock::new(),
        }
    }

    /// The routes in force.
    fn table(&self) -> Arc<RouteTable> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn apply(&self, change: RouteChange) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match change {
            RouteChange::Put(route) => {
                tracing::info!(route = %route.name, target = %route.target, "route applied");
                routes.insert(route.name.clone(), *route);
            }
            RouteChange::Removed(name) => {
                if routes.remove(&name).is_some() {
                    tracing::info!(route = %name, "route removed");
                }
            }
        }
        let table = Arc::new(RouteTable::new(routes.values().cloned().collect()));
        *self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = table;
        self.routes_changed.notify_one();
    }
}

/// Where ingress listens.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub plain: SocketAddr,
    pub tls: Option<SocketAddr>,
}

/// Starts serving ingress: follows the routes, binds the listeners, and
/// returns the addresses they listen on.
pub async fn start(
    ingress: Arc<Ingress>,
    auth: Arc<LatticeAuth>,
    tasks: &Tasks,
    bucket: kv::Store,
) -> Result<Listening, IngressError> {
    let mut watch = floe_lattice::KeyWatch::start(bucket, ROUTE_KEY_PREFIX)
        .await
        .map_err(|e| IngressError::Watch(e.to_string()))?;
    let follower = ingress.clone();
    let stopping = tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                () = stopping.stopping() => return,
                entry = watch.next() => match floe_lattice::routes::read_entry(&auth, &entry) {
                    Some(change) => follower.apply(change),
                    None => tracing::warn!(key = %entry.key, "ignoring a route entry that is not authentic or not valid"),
                },
            }
        }
    });
    let plain = listen::serve(ingress.clone(), tasks, ingress.settings.address, None).await?;
    let tls = match ingress.settings.tls_address {
        Some(address) => {
            let config = tls::server_config(ingress.certificates.clone())
                .map_err(|reason| IngressError::Bind { address, reason })?;
            spawn_certificate_loader(ingress.clone(), tasks);
            let bound = listen::serve(ingress.clone(), tasks, address, Some(config)).await?;
            let _ = ingress.tls_port.set(bound.port());
            Some(bound)
        }
        None => None,
    };
    Ok(Listening { plain, tls })
}

/// Loads the routes' certificates at start and again at every change of
/// the routes or of a secret, until the host stops.
fn spawn_certificate_loader(ingress: Arc<Ingress>, tasks: &Tasks) {
    let stopping = tasks.clone();
    let mut secrets_changed = ingress.secrets.changes();
    tasks.spawn(async move {
        loop {
            let routes = ingress.table().routes().to_vec();
            ingress.certificates.reload(&routes, &ingress.secrets).await;
            tokio::select! {
                () = stopping.stopping() => return,
                () = ingress.routes_changed.notified() => {}
                changed = secrets_changed.changed() => if changed.is_err() { return },
            }
        }
    });
}
