//! Instances kept warm between calls of one actor (`--reuse N`, off by
//! default: a fresh instance per call). An instance goes back to the pool
//! only when its call ended normally and left no host resource behind,
//! and after `N` calls it is dropped and replaced. Reuse keeps a guest's
//! state (its memory, its globals) from one call to the next of the same
//! actor — never across actors: each actor has its own pool
//! (docs/security.md).
//!
//! The pool never holds more instances than ran at once (each call takes
//! one out or makes one), so it is bounded by the actor's concurrency
//! limit; it goes with the loaded actor (an update, a stop, dormancy).
//! Idle instances keep their slots of the host's pooling allocator, so all
//! the pools of a host together keep at most half of `--max-instances`
//! idle ([`IdleBudget`]): past that, an instance is dropped instead.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::Store;
use wasmtime::component::Instance;

use super::state::InstanceState;

/// An instance and its store, between calls.
pub struct Warm {
    pub store: Store<InstanceState>,
    pub instance: Instance,
    /// Calls it has served.
    pub served: u32,
}

/// How many instances all warm pools of a host may keep idle at once.
#[derive(Debug)]
pub struct IdleBudget {
    max: usize,
    idle: AtomicUsize,
}

impl IdleBudget {
    pub fn new(max: usize) -> Self {
        IdleBudget {
            max,
            idle: AtomicUsize::new(0),
        }
    }

    /// Takes a place for one more idle instance, if there is one.
    pub(super) fn reserve(&self) -> bool {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    pub(super) fn release(&self, n: usize) {
        self.idle.fetch_sub(n, Ordering::AcqRel);
    }
}

/// The warm instances of one loaded actor.
pub struct WarmPool {
    /// Calls one instance may serve.
    limit: u32,
    idle: Mutex<Vec<Warm>>,
    budget: std::sync::Arc<IdleBudget>,
}

impl std::fmt::Debug for WarmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmPool")
            .field("limit", &self.limit)
            .field("idle", &self.lock().len())
            .finish()
    }
}

impl WarmPool {
    /// A pool for instances serving up to `limit` calls each; `None` when
    /// `limit` asks for a fresh instance per call (0 or 1).
    pub fn new(limit: u32, budget: &std::sync::Arc<IdleBudget>) -> Option<Self> {
        (limit > 1).then(|| WarmPool {
            limit,
            idle: Mutex::new(Vec::new()),
            budget: budget.clone(),
        })
    }

    /// The instance used most recently, if one is idle.
    pub fn take(&self) -> Option<Warm> {
        let warm = self.lock().pop();
        if warm.is_some() {
            self.budget.release(1);
        }
        warm
    }

    /// Keeps `warm`, which has just served a call that ended normally,
    /// unless it has served its share or the host keeps enough idle.
    pub fn give_back(&self, mut warm: Warm) {
        warm.served += 1;
        if warm.served < self.limit && self.budget.reserve() {
            self.lock().push(warm);
        }
    }

    /// Instances idle now.
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Warm>> {
        // A Vec pushed and popped whole: a panic cannot leave it torn.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for WarmPool {
    fn drop(&mut self) {
        let idle = self.lock().len();
        self.budget.release(idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_budget_is_shared_and_given_back() {
        let budget = IdleBudget::new(2);
        assert!(budget.reserve() && budget.reserve());
        assert!(!budget.reserve(), "no third idle instance");
        budget.release(1);
        assert!(budget.reserve(), "a place freed by a take");
        assert!(!budget.reserve());
        budget.release(2);
        assert_eq!(budget.idle.load(Ordering::Relaxed), 0);
    }
}
