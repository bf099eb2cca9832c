//! The actors running on this host: for each, its replica (the version in
//! force, active or dormant: `replica`), the concurrency gate, counters,
//! and the token that stops its subscription. Swapping the version
//! (update) or going dormant never disturbs calls in flight: each call
//! holds the `Arc` of the code it started on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use floe_wire::control::{ActorDescription, StringMap};
use floe_wire::{ErrorKind, InvocationError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::replica::Replica;
use crate::runtime::ActorConfig;

/// One running actor on this host.
#[derive(Debug)]
pub struct ActorHandle {
    pub id: String,
    pub annotations: StringMap,
    /// What the actor reads through `wasi:config` now (`live_config`
    /// replaces it when its config or a secret it reads changes).
    config: RwLock<Arc<ActorConfig>>,
    /// The config and secrets its start or last update gave it.
    spec: Mutex<ConfigSpec>,
    /// The version in force and its code, active or dormant.
    pub replica: Arc<Replica>,
    gate: Gate,
    waiting: AtomicUsize,
    queue_depth: usize,
    stats: Stats,
    /// Cancelled to stop serving (drains the subscription).
    stop: CancellationToken,
    /// Cancelled by the serving task once it takes no more calls.
    drained: CancellationToken,
}

/// The config a start or update gives a replica: plain values, and
/// secrets read as config (`wasi:config` key → secret name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSpec {
    pub config: StringMap,
    pub secrets: StringMap,
}

/// One semaphore for the actor's whole life, so calls already waiting see
/// a scale-up at once. Shrinking forgets free permits now and the rest as
/// they come back (`debt`).
#[derive(Debug)]
struct Gate {
    permits: Arc<Semaphore>,
    sizes: Mutex<GateSize>,
}

#[derive(Debug)]
struct GateSize {
    max: u32,
    debt: u32,
}

impl Gate {
    fn new(max: u32) -> Self {
        Gate {
            permits: Arc::new(Semaphore::new(max as usize)),
            sizes: Mutex::new(GateSize { max, debt: 0 }),
        }
    }

    fn resize(&self, max: u32) {
        let mut size = lock(&self.sizes);
        if max >= size.max {
            let mut grow = max - size.max;
            let paid = grow.min(size.debt);
            size.debt -= paid;
            grow -= paid;
            self.permits.add_permits(grow as usize);
        } else {
            let shrink = size.max - max;
            let forgotten = self.permits.forget_permits(shrink as usize) as u32;
            size.debt += shrink - forgotten;
        }
        size.max = max;
    }

    /// Returns a permit, or forgets it while the gate owes permits.
    fn release(&self, permit: OwnedSemaphorePermit) {
        let mut size = lock(&self.sizes);
        if size.debt > 0 {
            size.debt -= 1;
            permit.forget();
        }
    }
}

/// The integral of the calls in the host over time: read and reset at each
/// heartbeat, divided by the period, it is the calls in flight on average,
/// long calls counted while they run.
#[derive(Debug)]
struct Presence {
    now: u64,
    area_ns: u128,
    since: std::time::Instant,
}

impl Default for Presence {
    fn default() -> Self {
        Presence {
            now: 0,
            area_ns: 0,
            since: std::time::Instant::now(),
        }
    }
}

impl Presence {
    fn advance(&mut self) {
        let now = std::time::Instant::now();
        self.area_ns += u128::from(self.now) * now.duration_since(self.since).as_nanos();
        self.since = now;
    }
}

/// Counts a call as in the host while it lives.
#[derive(Debug)]
pub struct InHost<'a>(&'a Mutex<Presence>);

impl Drop for InHost<'_> {
    fn drop(&mut self) {
        let mut presence = lock(self.0);
        presence.advance();
        presence.now = presence.now.saturating_sub(1);
    }
}

#[derive(Debug, Default)]
struct Stats {
    calls: AtomicU64,
    /// Instances made for its calls (fewer than calls with `--reuse`).
    instances: AtomicU64,
    in_flight: AtomicU64,
    /// Calls in the host (waiting for an instance or running) over time.
    presence: Mutex<Presence>,
    failures: [AtomicU64; ErrorKind::ALL.len()],
}

/// Holds a slot in an actor's concurrency gate and its in-flight count.
#[derive(Debug)]
pub struct Slot<'a> {
    permit: Option<OwnedSemaphorePermit>,
    gate: &'a Gate,
    stats: &'a Stats,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(permit) = self.permit.take() {
            self.gate.release(permit);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-update of plain
    // data; the data itself is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ActorHandle {
    pub fn new(
        replica: Replica,
        max_concurrent: u32,
        queue_depth: usize,
        annotations: StringMap,
        spec: ConfigSpec,
        config: ActorConfig,
    ) -> Self {
        ActorHandle {
            id: replica.version().claims.sub.clone(),
            annotations,
            config: RwLock::new(Arc::new(config)),
            spec: Mutex::new(spec),
            replica: Arc::new(replica),
            gate: Gate::new(max_concurrent.max(1)),
            waiting: AtomicUsize::new(0),
            queue_depth,
            stats: Stats::default(),
            stop: CancellationToken::new(),
            drained: CancellationToken::new(),
        }
    }

    /// What a call starting now reads through `wasi:config`.
    pub fn config(&self) -> Arc<ActorConfig> {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces what calls starting from now read (calls running keep theirs).
    pub fn set_config(&self, config: ActorConfig) {
        *self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
    }

    /// The config and secrets its start or last update gave it.
    pub fn spec(&self) -> ConfigSpec {
        lock(&self.spec).clone()
    }

    pub fn set_spec(&self, spec: ConfigSpec) {
        *lock(&self.spec) = spec;
    }

    /// Stops taking calls and waits, at most `limit`, until the serving
    /// task has answered what was delivered; false when it had not by then.
    pub async fn stop(&self, limit: Duration) -> bool {
        self.stop.cancel();
        tokio::time::timeout(limit, self.drained.cancelled())
            .await
            .is_ok()
    }

    /// Stops taking calls without waiting (the host is stopping and waits
    /// for every task at once).
    pub fn stop_now(&self) {
        self.stop.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// What the serving task watches: cancelled when the actor stops.
    pub fn stop_signal(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Said by the serving task once it takes no more calls.
    pub fn drained(&self) {
        self.drained.cancel();
    }

    /// Goes dormant if idle for its `idle_after` as of `now` with no call
    /// in flight; true when it did.
    pub fn sleep_if_idle(&self, now: tokio::time::Instant) -> bool {
        self.replica
            .sleep_if_idle(now, self.stats.in_flight.load(Ordering::Relaxed))
    }

    pub fn max_concurrent(&self) -> u32 {
        lock(&self.gate.sizes).max
    }

    /// Changes how many instances may run at once. Waiting calls get new
    /// slots at once; when shrinking, running calls finish and their slots
    /// are retired as they return.
    pub fn scale(&self, max_concurrent: u32) {
        self.gate.resize(max_concurrent.max(1));
    }

    /// Waits for a free instance slot within `deadline`, or fails `busy`.
    pub async fn acquire(&self, deadline: Duration) -> Result<Slot<'_>, InvocationError> {
        let permits = self.gate.permits.clone();
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue_depth {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(busy(format!(
                        "all {} instances are busy and {} calls already wait",
                        self.max_concurrent(),
                        self.queue_depth
                    )));
                }
                let waited = tokio::time::timeout(deadline, permits.acquire_owned()).await;
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                match waited {
                    Ok(Ok(p)) => p,
                    _ => {
                        return Err(busy(format!(
                            "no instance became free within {} ms",
                            deadline.as_millis()
                        )));
                    }
                }
            }
        };
        self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            permit: Some(permit),
            gate: &self.gate,
            stats: &self.stats,
        })
    }

    /// A free instance slot now, without waiting (ingress: when none is
    /// free here, the request goes to another replica).
    pub fn try_acquire(&self) -> Option<Slot<'_>> {
        let permit = self.gate.permits.clone().try_acquire_owned().ok()?;
        self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            permit: Some(permit),
            gate: &self.gate,
            stats: &self.stats,
        })
    }

    /// Counts a call as in the host until the guard drops.
    pub fn in_host(&self) -> InHost<'_> {
        let mut presence = lock(&self.stats.presence);
        presence.advance();
        presence.now += 1;
        InHost(&self.stats.presence)
    }

    /// Call-nanoseconds in the host since the last take (the integral of
    /// the calls present over time), and the calls answered `busy` ever.
    pub fn take_load(&self) -> (u128, u64) {
        let mut presence = lock(&self.stats.presence);
        presence.advance();
        let area = std::mem::take(&mut presence.area_ns);
        (
            area,
            self.stats.failures[ErrorKind::Busy.index()].load(Ordering::Relaxed),
        )
    }

    /// Counts one finished call (every call; a failed one also by kind).
    pub fn record(&self, outcome: Result<(), ErrorKind>) {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        if let Err(kind) = outcome {
            self.stats.failures[kind.index()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts the instances made for its calls.
    pub fn instances_made(&self) -> &AtomicU64 {
        &self.stats.instances
    }

    pub fn describe(&self) -> ActorDescription {
        let version = self.replica.version();
        let spec = self.spec();
        let replica = self.replica.report();
        let failures = ErrorKind::ALL
            .iter()
            .filter_map(|k| {
                let n = self.stats.failures[k.index()].load(Ordering::Relaxed);
                (n > 0).then(|| (k.as_str().to_owned(), n))
            })
            .collect();
        ActorDescription {
            actor_id: self.id.clone(),
            name: version.claims.floe.name.clone(),
            version: version.claims.floe.version.clone(),
            revision: version.claims.floe.revision,
            issuer: version.claims.iss.clone(),
            reference: version.reference.clone(),
            max_concurrent: self.max_concurrent(),
            annotations: self.annotations.clone(),
            calls: self.stats.calls.load(Ordering::Relaxed),
            instances: self.stats.instances.load(Ordering::Relaxed),
            failures,
            in_flight: self.stats.in_flight.load(Ordering::Relaxed),
            claims: Some(version.claims.clone()),
            state: replica.state,
            idle_after_ms: replica
                .idle_after
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            last_call_unix_ms: replica.last_call_unix_ms,
            cold_starts: replica.cold_starts,
            wake_failure: replica.wake_failure,
            config: Some(spec.config),
            secrets: Some(spec.secrets),
        }
    }
}

fn busy(message: String) -> InvocationError {
    InvocationError::new(ErrorKind::Busy, message)
}

/// Every actor on this host, by id.
#[derive(Debug, Default)]
pub struct ActorTable {
    actors: Mutex<HashMap<String, Arc<ActorHandle>>>,
}

impl ActorTable {
    pub fn get(&self, id: &str) -> Option<Arc<ActorHandle>> {
        lock(&self.actors).get(id).cloned()
    }

    /// Inserts unless the id is already present; returns the one in force.
    pub fn insert(&self, handle: Arc<ActorHandle>) -> Result<Arc<ActorHandle>, Arc<ActorHandle>> {
        let mut actors = lock(&self.actors);
        if let Some(existing) = actors.get(&handle.id) {
            return Err(existing.clone());
        }
        actors.insert(handle.id.clone(), handle.clone());
        Ok(handle)
    }

    pub fn remove(&self, id: &str) -> Option<Arc<ActorHandle>> {
        lock(&self.actors).remove(id)
    }

    /// Removes `handle` only if it is still the one in force for its id (a
    /// stop and a new start may have replaced it meanwhile).
    pub fn remove_exact(&self, handle: &Arc<ActorHandle>) {
        let mut actors = lock(&self.actors);
        if actors
            .get(&handle.id)
            .is_some_and(|h| Arc::ptr_eq(h, handle))
        {
            actors.remove(&handle.id);
        }
    }

    pub fn all(&self) -> Vec<Arc<ActorHandle>> {
        let mut all: Vec<_> = lock(&self.actors).values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn len(&self) -> usize {
        lock(&self.actors).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_grows_for_waiters_and_shrinks_as_slots_return() {
        let gate = Gate::new(1);
        let first = gate.permits.clone().try_acquire_owned().expect("one free");
        let waiter = tokio::spawn({
            let permits = gate.permits.clone();
            async move { permits.acquire_owned().await }
        });
        tokio::task::yield_now().await;
        gate.resize(2);
        let second = tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("a waiting call gets the new slot at once")
            .expect("task")
            .expect("permit");
        // Shrink to 1 while both slots are taken: the next returned slot is retired.
        gate.resize(1);
        gate.release(first);
        assert_eq!(
            gate.permits.available_permits(),
            0,
            "the returned slot was retired"
        );
        gate.release(second);
        assert_eq!(gate.permits.available_permits(), 1);
        assert_eq!(lock(&gate.sizes).debt, 0);
    }
}
