//! Instances of a WASI 0.3 actor shared by concurrent calls (Spin 4's
//! model). A call of an async export — `wasi:http/handler.handle` or any
//! `async func` — goes to an instance of the actor that has room: each
//! instance runs up to `--max-concurrent-per-instance` calls at once in
//! its store's event loop, and after `--max-calls-per-instance` calls it
//! takes no more and ends once its last call has answered.
//!
//! One task drives each instance ([`drive`]): it owns the store, takes jobs
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

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use floe_wire::{Answer, Encoding, ErrorKind, InvocationError};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{Accessor, Instance, Val};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi_http::p3::bindings::Service;

use super::caller::CallerContext;
use super::code::CompiledCode;
use super::http::IncomingRequest;
use super::http_hooks::HttpHooks;
use super::log_lines::LogSink;
use super::state::InstanceState;
use super::warm::IdleBudget;
use crate::codec;

/// Epoch ticks a guest may run before it yields to the executor.
const YIELD_EVERY_TICKS: u64 = 2;

/// How long past a deadline a guest may still compute before it is
/// interrupted: time for the caller whose deadline it was to give up its
/// place, so a call that was only waiting does not take down the calls
/// computing beside it (its instance takes no more calls instead).
const INTERRUPT_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

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

/// What one shared call runs.
pub enum Work {
    /// `wasi:http/handler.handle` on a request.
    Http(Box<IncomingRequest>),
    /// An exported function (by its key in the export table).
    Func {
        export: String,
        params: Vec<Val>,
        encoding: Encoding,
    },
}

/// One call for a shared instance.
pub struct Job {
    pub work: Work,
    pub context: JobContext,
}

/// What a shared call runs with besides its work.
pub struct JobContext {
    pub started: Instant,
    pub deadline_at: Instant,
    pub caller: Option<Arc<CallerContext>>,
    pub config: Arc<super::actor_config::ActorConfig>,
    pub outgoing_http: bool,
    /// For its log lines.
    pub invocation: uuid::Uuid,
    pub logs: Option<Arc<dyn LogSink>>,
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

/// What the driver and the callers of one instance share.
#[derive(Default)]
struct InstanceShared {
    /// Why the instance stopped, for the calls it could not answer.
    failure: OnceLock<InvocationError>,
    deadlines: Mutex<Deadlines>,
}

/// The deadlines that bound the guest's computing in one instance.
#[derive(Default)]
struct Deadlines {
    /// Of the calls running, earliest first.
    running: BTreeSet<(Instant, u64)>,
    /// The latest of every call taken: with none running, what the guest
    /// still computes (a task left behind) ends there.
    latest: Option<Instant>,
    /// The deadline of a call whose caller gave up: the guest may still be
    /// computing for it (a loop that never yields holds every call of the
    /// instance), so computing ends there for the whole instance.
    gave_up: Option<Instant>,
}

impl Deadlines {
    fn add(&mut self, at: Instant, id: u64) {
        self.running.insert((at, id));
        self.latest = self.latest.max(Some(at));
    }

    /// Whether a guest computing now has run past its bound: the earliest
    /// deadline of the calls running (with none, the latest it was given),
    /// or that of a call whose caller gave up.
    fn overdue(&self, now: Instant) -> bool {
        let bound = match self.running.first() {
            Some((at, _)) => Some(*at),
            None => self.latest,
        };
        [bound, self.gave_up]
            .into_iter()
            .flatten()
            .any(|at| now >= at + INTERRUPT_GRACE)
    }
}

impl InstanceShared {
    fn deadlines(&self) -> MutexGuard<'_, Deadlines> {
        self.deadlines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
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

    /// Instances of this actor alive now.
    pub fn instances(&self) -> usize {
        self.lock().len()
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
        let mut store = Store::new(
            &runtime.engine,
            InstanceState::new(runtime.limits.max_memory_per_instance),
        );
        store.limiter(|state| &mut state.limits);
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
        tokio::spawn(drive(
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

/// Where a call's answer goes.
type Reply = oneshot::Sender<Result<Answer, InvocationError>>;
type Queue = mpsc::UnboundedReceiver<(Job, Reply)>;

/// Owns one instance: makes it, then runs the jobs it is sent side by side
/// until the channel closes and the last has answered, or a call traps.
async fn drive(
    mut store: Store<InstanceState>,
    code: Arc<CompiledCode>,
    actor: Arc<str>,
    mut queue: Queue,
    shared: Arc<InstanceShared>,
) {
    let made = async {
        let instance = code.pre.instantiate_async(&mut store).await?;
        let service = match &code.http_p3 {
            Some(indices) => Some(indices.load(&mut store, &instance)?),
            None => None,
        };
        wasmtime::error::Ok((instance, service))
    };
    let (instance, service) = match made.await {
        Ok(made) => made,
        Err(e) => {
            let _ = shared
                .failure
                .set(super::trap::trap_error(&e, store.data(), None));
            return;
        }
    };
    // The replies of the calls running, kept outside the event loop so
    // that when a trap ends it, the failure is set before they drop.
    let replies: Mutex<HashMap<u64, Waiting>> = Mutex::default();
    let take_reply = |id| {
        replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
    };
    let ran = store
        .run_concurrent(async |accessor| {
            let mut running = FuturesUnordered::new();
            let mut open = true;
            let mut next_id = 0u64;
            loop {
                tokio::select! {
                    Some((id, context, outcome)) = running.next(), if !running.is_empty() => {
                        match outcome {
                            Ok(answer) => answered(
                                accessor,
                                &actor,
                                &context,
                                take_reply(id).map(|w| w.reply),
                                answer,
                            ),
                            Err(e) => {
                                // A trap poisons the store: every call left fails.
                                return Some((failed(accessor, &context, &e), Some(id)));
                            }
                        }
                    }
                    next = queue.recv(), if open => match next {
                        Some((job, reply)) => {
                            next_id += 1;
                            let waiting = Waiting {
                                reply,
                                invocation: job.context.invocation,
                                started: job.context.started,
                                logs: job.context.logs.clone(),
                            };
                            replies
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(next_id, waiting);
                            running.push(run_job(
                                accessor,
                                &code,
                                instance,
                                service.as_ref(),
                                job,
                                next_id,
                            ));
                        }
                        None => open = false,
                    },
                    else => return None,
                }
            }
        })
        .await;
    let (failure, failed_job) = match ran {
        Ok(None) => return,
        Ok(Some(failed)) => failed,
        // Code with routed imports runs one call at a time: a routed call
        // that failed and aborted the guest says why itself.
        Err(e) => (
            store
                .data()
                .caller
                .as_ref()
                .and_then(|c| c.take_failure())
                .unwrap_or_else(|| super::trap::trap_error(&e, store.data(), None)),
            None,
        ),
    };
    let _ = shared.failure.set(failure.clone());
    let left = std::mem::take(&mut *replies.lock().unwrap_or_else(PoisonError::into_inner));
    // What the guest wrote goes to the log with the call that failed (when
    // known, else the oldest left): its panic message is there.
    let credited = failed_job
        .filter(|id| left.contains_key(id))
        .or_else(|| left.keys().min().copied());
    if let Some(waiting) = credited.and_then(|id| left.get(&id)) {
        super::logging::emit(
            store.data(),
            &actor,
            waiting.invocation,
            waiting.started,
            waiting.logs.as_ref(),
        );
    }
    // Every call left fails with the instance's failure.
    for (_, waiting) in left {
        let _ = waiting.reply.send(Err(failure.clone()));
    }
}

/// A call the driver has taken, until it answers.
struct Waiting {
    reply: Reply,
    invocation: uuid::Uuid,
    started: Instant,
    logs: Option<Arc<dyn LogSink>>,
}

/// Runs job `id` in the instance's event loop; gives back its context for
/// [`answered`] or [`failed`].
async fn run_job(
    accessor: &Accessor<InstanceState>,
    code: &CompiledCode,
    instance: Instance,
    service: Option<&Service>,
    job: Job,
    id: u64,
) -> (
    u64,
    JobContext,
    wasmtime::Result<Result<Answer, InvocationError>>,
) {
    let Job { work, context } = job;
    accessor.with(|mut access| {
        let state = access.get();
        state.caller = context.caller.clone();
        state.config = context.config.clone();
        // Outgoing requests get the latest deadline of the calls running.
        let deadline_at = match state.http_hooks.deadline_at {
            Some(at) if at > context.deadline_at => at,
            _ => context.deadline_at,
        };
        state.http_hooks = HttpHooks {
            outgoing_allowed: context.outgoing_http,
            deadline_at: Some(deadline_at),
        };
    });
    // A call whose caller has given up leaves the event loop too, so an
    // instance never outlives its calls' deadlines waiting for one.
    let deadline_at = tokio::time::Instant::from_std(context.deadline_at);
    let work = async {
        match work {
            Work::Http(request) => match service {
                Some(service) => super::http_p3::serve(accessor, service, *request)
                    .await
                    .map(|handled| handled.map(Answer::from)),
                None => Ok(Err(InvocationError::new(
                    ErrorKind::NoSuchOperation,
                    "this actor has no WASI 0.3 HTTP handler",
                ))),
            },
            Work::Func {
                export,
                params,
                encoding,
            } => call_func(accessor, code, instance, &export, &params, encoding).await,
        }
    };
    let outcome = tokio::time::timeout_at(deadline_at, work)
        .await
        .unwrap_or_else(|_| {
            Ok(Err(InvocationError::new(
                ErrorKind::TimedOut,
                "no answer within the call's deadline",
            )))
        });
    (id, context, outcome)
}

/// Calls an exported function concurrently with the instance's other calls.
async fn call_func(
    accessor: &Accessor<InstanceState>,
    code: &CompiledCode,
    instance: Instance,
    export: &str,
    params: &[Val],
    encoding: Encoding,
) -> wasmtime::Result<Result<Answer, InvocationError>> {
    let Some(func) = code.exports.get(export) else {
        return Ok(Err(InvocationError::new(
            ErrorKind::NoSuchOperation,
            format!("no export `{export}`"),
        )));
    };
    let f = accessor
        .with(|mut access| instance.get_func(&mut access, func.index))
        .ok_or_else(|| wasmtime::Error::msg("export vanished after instantiation"))?;
    let mut results = vec![Val::Bool(false); func.results.len()];
    f.call_concurrent(accessor, params, &mut results).await?;
    let err_case = matches!(results.first(), Some(Val::Result(Err(_))));
    Ok(codec::encode_results(encoding, &results, &func.results)
        .map(|bytes| Answer { bytes, err_case })
        .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string())))
}

/// Hands a call's answer back, with the log lines written since the last.
fn answered(
    accessor: &Accessor<InstanceState>,
    actor: &str,
    context: &JobContext,
    reply: Option<Reply>,
    answer: Result<Answer, InvocationError>,
) {
    accessor.with(|mut access| {
        let state = access.get();
        super::logging::emit(
            state,
            actor,
            context.invocation,
            context.started,
            context.logs.as_ref(),
        );
        state.forget_output();
    });
    if let Some(reply) = reply {
        let _ = reply.send(answer);
    }
}

/// The typed failure of a call that trapped: a failed routed call's own
/// cause, else the trap with the guest's stderr.
fn failed(
    accessor: &Accessor<InstanceState>,
    context: &JobContext,
    e: &wasmtime::Error,
) -> InvocationError {
    context
        .caller
        .as_ref()
        .and_then(|c| c.take_failure())
        .unwrap_or_else(|| {
            accessor.with(|mut access| super::trap::trap_error(e, access.get(), None))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_guest_is_interrupted_past_the_earliest_running_deadline_else_the_latest() {
        let now = Instant::now();
        let mut deadlines = Deadlines::default();
        assert!(
            !deadlines.overdue(now + Duration::from_secs(3600)),
            "no call taken: no bound"
        );
        deadlines.add(now + Duration::from_secs(1), 1);
        deadlines.add(now + Duration::from_secs(5), 2);
        let past_first = now + Duration::from_secs(1) + INTERRUPT_GRACE;
        assert!(
            !deadlines.overdue(now + Duration::from_secs(1)),
            "a grace first"
        );
        assert!(
            deadlines.overdue(past_first),
            "the earliest running deadline"
        );
        // The first call answered: the second's deadline bounds it now.
        deadlines.running.remove(&(now + Duration::from_secs(1), 1));
        assert!(!deadlines.overdue(past_first));
        deadlines.running.clear();
        // None running: a task left behind ends at the latest deadline.
        assert!(!deadlines.overdue(now + Duration::from_secs(4)));
        assert!(deadlines.overdue(now + Duration::from_secs(5) + INTERRUPT_GRACE));
        // A caller that gave up at its deadline ends it there, even with
        // later deadlines running.
        deadlines.add(now + Duration::from_secs(60), 3);
        assert!(!deadlines.overdue(past_first));
        deadlines.gave_up = Some(now + Duration::from_secs(1));
        assert!(deadlines.overdue(past_first));
    }
}
