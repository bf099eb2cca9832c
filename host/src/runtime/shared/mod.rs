//! Instances of a WASI 0.3 actor shared by concurrent calls (Spin 4's
//! model). A call of an async export — `wasi:http/handler.handle` or any
//! `async func` — goes to an instance of the actor that has room: each
//! instance runs up to `--max-concurrent-per-instance` calls at once in
//! its store's event loop, and after `--max-calls-per-instance` calls it
//! takes no more and ends once its last call has answered.
//!
//! One task drives each instance (`driver`): it owns the store, takes jobs
//! from a channel and runs them side by side under `run_concurrent`. A trap
//! in any call poisons the store, so every call still running in that
//! instance fails with the trap (typed `trapped`), the instance is dropped
//! and the next calls get a fresh one; other instances never notice. A
//! guest that never yields is interrupted when the earliest deadline among
//! its instance's calls passes, and what it computes with no call running
//! (a task left behind) ends at the latest deadline it was given. A call
//! whose caller gave up (its deadline) retires its instance, which may
//! still hold the guest's task.
//!
//! Code with imports routed by link keeps one call per instance at a time:
//! the caller context those imports use (caller, trace, deadline, link
//! name) is the store's, not the task's. Log lines written while several
//! calls run are credited to the call that answers next.

mod deadlines;
mod driver;
mod job;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use floe_wire::{Answer, ErrorKind, InvocationError};
use tokio::sync::{mpsc, oneshot};
use wasmtime::UpdateDeadline;

use super::code::CompiledCode;
use super::engine::YIELD_EVERY_TICKS;
use super::warm::IdleBudget;
use deadlines::InstanceShared;
use job::Reply;
pub use job::{Job, JobContext, Work};

/// How instances of 0.3 actors are shared.
#[derive(Debug, Clone, Copy)]
pub struct SharedLimits {
    /// Calls one instance runs at once (`--max-concurrent-per-instance`).
    pub max_concurrent: u32,
    /// Calls one instance serves before it is replaced
    /// (`--max-calls-per-instance`); 0 or 1: a fresh instance per call.
    pub max_calls: u32,
}

impl SharedLimits {
    /// Spin 4's figures: 16 calls at once, 128 in an instance's life.
    pub const DEFAULT_MAX_CONCURRENT: u32 = 16;
    pub const DEFAULT_MAX_CALLS: u32 = 128;
}

impl Default for SharedLimits {
    fn default() -> Self {
        SharedLimits {
            max_concurrent: Self::DEFAULT_MAX_CONCURRENT,
            max_calls: Self::DEFAULT_MAX_CALLS,
        }
    }
}

/// The shared instances of one loaded actor.
pub struct SharedPool {
    limits: SharedLimits,
    code: Arc<CompiledCode>,
    actor: Arc<str>,
    instances: Mutex<Vec<Arc<Entry>>>,
    budget: Arc<IdleBudget>,
    next_job: AtomicU64,
}

impl std::fmt::Debug for SharedPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPool")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One shared instance as the pool sees it. Its driver ends when the pool
/// and every caller have let go of it (the job channel closes) and its
/// last call has answered.
struct Entry {
    jobs: mpsc::UnboundedSender<(Job, Reply)>,
    state: Arc<InstanceShared>,
    load: Mutex<Load>,
}

#[derive(Debug, Default)]
struct Load {
    in_flight: u32,
    accepted: u32,
    retired: bool,
    /// Holds a place of the host's idle budget while it has no call.
    idle_reserved: bool,
}

/// A place in a shared instance, taken by [`SharedPool::run`].
struct Slot {
    entry: Arc<Entry>,
    /// A new instance was made for it.
    made: bool,
}

impl SharedPool {
    /// A pool for `code`, or `None` when every call gets a fresh instance.
    pub fn new(
        limits: SharedLimits,
        code: Arc<CompiledCode>,
        actor: &str,
        budget: &Arc<IdleBudget>,
    ) -> Option<Self> {
        (limits.max_calls > 1).then(|| SharedPool {
            limits: SharedLimits {
                // Routed imports read the store's caller context: one call
                // at a time.
                max_concurrent: if code.routes {
                    1
                } else {
                    limits.max_concurrent.max(1)
                },
                max_calls: limits.max_calls,
            },
            code,
            actor: actor.into(),
            instances: Mutex::new(Vec::new()),
            budget: budget.clone(),
            next_job: AtomicU64::new(0),
        })
    }

    /// Runs `job` on an instance with room (a new one when none has),
    /// within its deadline. `instances` counts the instances made.
    pub async fn run(
        &self,
        runtime: &super::Runtime,
        job: Job,
        instances: Option<&AtomicU64>,
    ) -> Result<Answer, InvocationError> {
        let Slot { entry, made } = self.take_slot(runtime);
        if made && let Some(counter) = instances {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let id = self.next_job.fetch_add(1, Ordering::Relaxed);
        let deadline_at = job.context.deadline_at;
        let allowed = deadline_at.saturating_duration_since(job.context.started);
        entry.state.deadlines().add(deadline_at, id);
        // Gives the place back however the call ends, dropped included
        // (a client that went away).
        let _place = Place {
            pool: self,
            entry: &entry,
            deadline: (deadline_at, id),
        };
        let (reply, answer) = oneshot::channel();
        // A closed channel means the driver has stopped: `answer` then
        // reads as dropped, and the failure says why.
        let _ = entry.jobs.send((job, reply));
        let outcome = match tokio::time::timeout_at(
            tokio::time::Instant::from_std(deadline_at),
            answer,
        )
        .await
        {
            Ok(Ok(answered)) => answered,
            Ok(Err(_dropped)) => Err(entry.state.failure.get().cloned().unwrap_or_else(|| {
                InvocationError::new(
                    ErrorKind::Internal,
                    "the instance serving this call stopped before it answered",
                )
            })),
            Err(_elapsed) => Err(InvocationError::new(
                ErrorKind::TimedOut,
                format!("no answer within {} ms", allowed.as_millis()),
            )),
        };
        if outcome
            .as_ref()
            .is_err_and(|e| e.kind == ErrorKind::TimedOut)
        {
            // Whichever timer fired first, the guest's task may still run:
            // the instance takes no more calls, and what it computes ends
            // at this call's deadline.
            self.lock().retain(|e| !Arc::ptr_eq(e, &entry));
            entry.load().retired = true;
            let mut deadlines = entry.state.deadlines();
            deadlines.gave_up = Some(
                deadlines
                    .gave_up
                    .map_or(deadline_at, |at| at.min(deadline_at)),
            );
        }
        outcome
    }

    /// The busiest instance that still has room, or a new one.
    fn take_slot(&self, runtime: &super::Runtime) -> Slot {
        let mut instances = self.lock();
        self.drop_stopped(&mut instances);
        let best = instances
            .iter()
            .filter(|e| e.load().in_flight < self.limits.max_concurrent)
            .max_by_key(|e| e.load().in_flight)
            .cloned();
        let (entry, made) = match best {
            Some(entry) => (entry, false),
            None => {
                let entry = Arc::new(self.spawn(runtime));
                instances.push(entry.clone());
                (entry, true)
            }
        };
        let mut load = entry.load();
        if load.idle_reserved {
            load.idle_reserved = false;
            self.budget.release(1);
        }
        load.in_flight += 1;
        load.accepted += 1;
        if load.accepted >= self.limits.max_calls {
            load.retired = true;
        }
        let retired = load.retired;
        drop(load);
        if retired {
            instances.retain(|e| !Arc::ptr_eq(e, &entry));
        }
        Slot { entry, made }
    }

    /// Forgets the instances that take no more calls: retired, or whose
    /// driver stopped (a trap, a failed instantiation, a panic), giving
    /// back the idle places they held.
    fn drop_stopped(&self, instances: &mut Vec<Arc<Entry>>) {
        instances.retain(|e| {
            let mut load = e.load();
            let keep = !load.retired && !e.stopped();
            if !keep && std::mem::take(&mut load.idle_reserved) {
                self.budget.release(1);
            }
            keep
        });
    }

    /// A call has ended: an instance left with nothing to do stays only if
    /// it is the actor's one idle instance and the host keeps few idle.
    fn release(&self, entry: &Arc<Entry>) {
        let mut instances = self.lock();
        let mut load = entry.load();
        load.in_flight = load.in_flight.saturating_sub(1);
        if load.in_flight > 0 || load.retired {
            return;
        }
        if entry.stopped() {
            load.retired = true;
            drop(load);
            instances.retain(|e| !Arc::ptr_eq(e, entry));
            return;
        }
        let another_idle = instances
            .iter()
            .any(|e| !Arc::ptr_eq(e, entry) && !e.stopped() && e.load().in_flight == 0);
        if another_idle || !self.budget.reserve() {
            load.retired = true;
            drop(load);
            instances.retain(|e| !Arc::ptr_eq(e, entry));
        } else {
            load.idle_reserved = true;
        }
    }

    /// Starts the driver of a new instance.
    fn spawn(&self, runtime: &super::Runtime) -> Entry {
        let (jobs, queue) = mpsc::unbounded_channel();
        let state = Arc::new(InstanceShared::default());
        let mut store = runtime.new_store();
        // A guest that computes for long yields every few ticks; once the
        // earliest deadline of the calls running has passed (with none
        // running, the latest of those it took), it is interrupted, and
        // with it every call of the instance.
        let watched = state.clone();
        store.set_epoch_deadline(YIELD_EVERY_TICKS);
        store.epoch_deadline_callback(move |_| {
            let overdue = watched.deadlines().overdue(Instant::now());
            Ok(if overdue {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(YIELD_EVERY_TICKS)
            })
        });
        tokio::spawn(driver::drive(
            store,
            self.code.clone(),
            self.actor.clone(),
            queue,
            state.clone(),
        ));
        Entry {
            jobs,
            state,
            load: Mutex::new(Load::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Entry>>> {
        self.instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A call's place in an instance, given back on drop.
struct Place<'a> {
    pool: &'a SharedPool,
    entry: &'a Arc<Entry>,
    deadline: (Instant, u64),
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.entry.state.deadlines().running.remove(&self.deadline);
        self.pool.release(self.entry);
    }
}

impl Entry {
    /// Its driver has stopped: it can answer nothing more.
    fn stopped(&self) -> bool {
        self.state.failure.get().is_some() || self.jobs.is_closed()
    }

    fn load(&self) -> MutexGuard<'_, Load> {
        self.load.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SharedPool {
    fn drop(&mut self) {
        let reserved = self
            .lock()
            .iter()
            .filter(|e| std::mem::take(&mut e.load().idle_reserved))
            .count();
        self.budget.release(reserved);
    }
}
