//! The actors running on this host: for each, the loaded version in force,
//! the concurrency gate, counters, and the token that stops its
//! subscription. Swapping the loaded version (update) never disturbs calls
//! in flight: each call holds the `Arc` of the version it started on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_wire::control::{ActorDescription, StringMap};
use floe_wire::{ErrorKind, InvocationError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::runtime::LoadedActor;

/// One running actor on this host.
#[derive(Debug)]
pub struct ActorHandle {
    pub id: String,
    pub annotations: StringMap,
    current: Mutex<Arc<LoadedActor>>,
    gate: Mutex<Gate>,
    waiting: AtomicUsize,
    queue_depth: usize,
    stats: Stats,
    /// Cancelled to stop serving (drains the subscription).
    pub stop: CancellationToken,
}

#[derive(Debug)]
struct Gate {
    max: u32,
    permits: Arc<Semaphore>,
}

#[derive(Debug, Default)]
struct Stats {
    calls: AtomicU64,
    in_flight: AtomicU64,
    failures: [AtomicU64; ErrorKind::ALL.len()],
}

/// Holds a slot in an actor's concurrency gate and its in-flight count.
#[derive(Debug)]
pub struct Slot<'a> {
    _permit: OwnedSemaphorePermit,
    stats: &'a Stats,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-update of plain
    // data; the data itself is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ActorHandle {
    pub fn new(
        loaded: LoadedActor,
        max_concurrent: u32,
        queue_depth: usize,
        annotations: StringMap,
    ) -> Self {
        ActorHandle {
            id: loaded.claims.sub.clone(),
            annotations,
            current: Mutex::new(Arc::new(loaded)),
            gate: Mutex::new(Gate {
                max: max_concurrent.max(1),
                permits: Arc::new(Semaphore::new(max_concurrent.max(1) as usize)),
            }),
            waiting: AtomicUsize::new(0),
            queue_depth,
            stats: Stats::default(),
            stop: CancellationToken::new(),
        }
    }

    /// The version new calls use.
    pub fn current(&self) -> Arc<LoadedActor> {
        lock(&self.current).clone()
    }

    /// Makes `loaded` the version for new calls; returns the old one.
    pub fn swap(&self, loaded: LoadedActor) -> Arc<LoadedActor> {
        std::mem::replace(&mut *lock(&self.current), Arc::new(loaded))
    }

    pub fn max_concurrent(&self) -> u32 {
        lock(&self.gate).max
    }

    /// Changes how many instances may run at once. Calls holding a slot of
    /// the old gate finish; new calls use the new one.
    pub fn scale(&self, max_concurrent: u32) {
        let max = max_concurrent.max(1);
        *lock(&self.gate) = Gate {
            max,
            permits: Arc::new(Semaphore::new(max as usize)),
        };
    }

    /// Waits for a free instance slot within `deadline`, or fails `busy`.
    pub async fn acquire(&self, deadline: Duration) -> Result<Slot<'_>, InvocationError> {
        let permits = lock(&self.gate).permits.clone();
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
            _permit: permit,
            stats: &self.stats,
        })
    }

    /// Counts one finished call.
    pub fn record(&self, outcome: Result<(), ErrorKind>) {
        match outcome {
            Ok(()) => self.stats.calls.fetch_add(1, Ordering::Relaxed),
            Err(kind) => self.stats.failures[kind.index()].fetch_add(1, Ordering::Relaxed),
        };
    }

    pub fn describe(&self) -> ActorDescription {
        let loaded = self.current();
        let failures = ErrorKind::ALL
            .iter()
            .filter_map(|k| {
                let n = self.stats.failures[k.index()].load(Ordering::Relaxed);
                (n > 0).then(|| (k.as_str().to_owned(), n))
            })
            .collect();
        ActorDescription {
            actor_id: self.id.clone(),
            name: loaded.claims.floe.name.clone(),
            version: loaded.claims.floe.version.clone(),
            revision: loaded.claims.floe.revision,
            issuer: loaded.claims.iss.clone(),
            reference: loaded.reference.clone(),
            max_concurrent: self.max_concurrent(),
            annotations: self.annotations.clone(),
            calls: self.stats.calls.load(Ordering::Relaxed),
            failures,
            in_flight: self.stats.in_flight.load(Ordering::Relaxed),
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

    pub fn all(&self) -> Vec<Arc<ActorHandle>> {
        let mut all: Vec<_> = lock(&self.actors).values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn len(&self) -> usize {
        lock(&self.actors).len()
    }
}
