//! [`Status`]: what this host says about itself — identity, labels, uptime,
//! what it runs, what it rejected — in pings, heartbeats, inventories and
//! events.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use floe_wire::control::{HostInfo, HostInventory, StringMap};

use crate::actors::ActorTable;
use crate::bus::Bus;
use crate::providers::ProviderTable;

/// The host's self-description, kept current.
#[derive(Debug, Clone)]
pub struct Status {
    bus: Bus,
    labels: Arc<Mutex<StringMap>>,
    started_at: SystemTime,
    started: Instant,
    /// Hosts the embedded reconciler hears heartbeats from (0 until known).
    lattice_hosts: Arc<AtomicUsize>,
    pub actors: Arc<ActorTable>,
    pub providers: Arc<ProviderTable>,
    /// The ids of the secrets keys this host holds.
    secrets_keys: Arc<[String]>,
}

impl Status {
    pub fn new(
        bus: Bus,
        labels: StringMap,
        lattice_hosts: Arc<AtomicUsize>,
        actors: Arc<ActorTable>,
        providers: Arc<ProviderTable>,
    ) -> Self {
        Status {
            bus,
            labels: Arc::new(Mutex::new(labels)),
            started_at: SystemTime::now(),
            started: Instant::now(),
            lattice_hosts,
            actors,
            providers,
            secrets_keys: Arc::new([]),
        }
    }

    /// Says which secrets keys this host holds (`floe secret rotate-key`
    /// checks that hosts hold the new one).
    pub fn with_secrets_keys(mut self, ids: Vec<String>) -> Self {
        self.secrets_keys = ids.into();
        self
    }

    pub fn labels(&self) -> StringMap {
        self.lock_labels().clone()
    }

    /// Changes the labels; returns them as they are then.
    pub fn update_labels(&self, change: impl FnOnce(&mut StringMap)) -> StringMap {
        let mut labels = self.lock_labels();
        change(&mut labels);
        labels.clone()
    }

    fn lock_labels(&self) -> std::sync::MutexGuard<'_, StringMap> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn info(&self) -> HostInfo {
        HostInfo {
            host_id: self.bus.host_id().to_owned(),
            lattice: self.bus.lattice().to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            target: crate::provider_source::HOST_TARGET.to_owned(),
            labels: self.labels(),
            started_at: humantime::format_rfc3339_seconds(self.started_at).to_string(),
            uptime_secs: self.started.elapsed().as_secs(),
            actors: self.actors.len(),
            providers: self.providers.len(),
            rejected: self.bus.auth().rejected_by_reason(),
            lattice_hosts: self.lattice_hosts.load(Ordering::Relaxed),
            secrets_keys: self.secrets_keys.to_vec(),
        }
    }

    /// A digest of what placement sees of this host: labels, and each
    /// actor's and provider's identity, code, size and owner (not counters,
    /// not dormancy). Heartbeats carry it; it changes exactly when a new
    /// inventory would plan differently.
    pub fn placement_digest(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        self.labels().hash(&mut hasher);
        // Read from each actor's handle, not its whole description: this
        // runs every heartbeat, for every actor.
        for actor in self.actors.all() {
            let version = actor.replica.version();
            let floe = &version.claims.floe;
            (&actor.id, &floe.version, floe.revision, &version.reference).hash(&mut hasher);
            (actor.max_concurrent(), &actor.annotations).hash(&mut hasher);
            let spec = actor.spec();
            (spec.config, spec.secrets).hash(&mut hasher);
        }
        for provider in self.providers.all() {
            let d = provider.describe();
            (d.provider_id, d.reference, d.annotations).hash(&mut hasher);
            format!("{:?}", d.health).hash(&mut hasher);
        }
        format!("{:016x}", hasher.finish())
    }

    /// Everything this host runs.
    pub fn inventory(&self) -> HostInventory {
        HostInventory {
            host: self.info(),
            actors: self.actors.all().iter().map(|a| a.describe()).collect(),
            providers: self.providers.all().iter().map(|p| p.describe()).collect(),
        }
    }
}
