//! [`Replica`]: an actor's code on this host, *active* or *dormant*.
//!
//! An active replica holds its compiled code (component, `InstancePre`,
//! export table) and may run instances. A dormant one holds only what it
//! takes to load that code again — the verified claims, the reference and
//! the code digest — while the compiled code waits in the on-disk compile
//! cache; its queue subscription stays, so calls still reach it. The first
//! call to a dormant replica wakes it (one wake at a time: calls arriving
//! meanwhile wait for the same one), and an active replica that served no
//! call for its `idle_after`, with nothing in flight, goes dormant and frees
//! its code. Calls in flight hold their own `Arc` of the code, so going
//! dormant never disturbs one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_wire::control::ReplicaState;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use tokio::time::Instant;

use crate::clock::unix_now_ms;
use crate::loader::{LoadFailure, Version};
use crate::runtime::LoadedActor;

#[derive(Debug)]
struct Inner {
    version: Arc<Version>,
    code: Option<Arc<LoadedActor>>,
    /// When the last call began (or the replica last woke).
    last_active: Instant,
    /// Why the last wake failed, and when, until one succeeds.
    wake_failure: Option<String>,
    failed_at: Option<Instant>,
}

/// One actor's code on this host.
#[derive(Debug)]
pub struct Replica {
    inner: Mutex<Inner>,
    waking: Arc<AsyncMutex<()>>,
    /// Goes dormant after this long without calls; `None`: stays active.
    idle_after: Option<Duration>,
    last_call_unix_ms: AtomicU64,
    cold_starts: AtomicU64,
}

/// A replica's state as inventory reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaReport {
    pub state: ReplicaState,
    pub idle_after: Option<Duration>,
    pub last_call_unix_ms: Option<u64>,
    pub cold_starts: u64,
    pub wake_failure: Option<String>,
}

/// The right to wake a dormant replica: held by one caller at a time.
#[derive(Debug)]
pub struct WakeTurn(#[allow(dead_code)] OwnedMutexGuard<()>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data: a panic elsewhere cannot leave it inconsistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Replica {
    /// An active replica of `loaded`.
    pub fn new(loaded: LoadedActor, idle_after: Option<Duration>) -> Self {
        let version = Arc::new(Version::of(&loaded));
        Replica::new_with(version, Some(Arc::new(loaded)), idle_after)
    }

    /// A dormant replica of `version`: its code was checked and is in the
    /// compile cache (or compiles on the first call), none in memory.
    pub fn dormant(version: Version, idle_after: Option<Duration>) -> Self {
        Replica::new_with(Arc::new(version), None, idle_after)
    }

    fn new_with(
        version: Arc<Version>,
        code: Option<Arc<LoadedActor>>,
        idle_after: Option<Duration>,
    ) -> Self {
        Replica {
            inner: Mutex::new(Inner {
                version,
                code,
                last_active: Instant::now(),
                wake_failure: None,
                failed_at: None,
            }),
            waking: Arc::new(AsyncMutex::new(())),
            idle_after: idle_after.filter(|d| !d.is_zero()),
            last_call_unix_ms: AtomicU64::new(0),
            cold_starts: AtomicU64::new(0),
        }
    }

    /// The version in force.
    pub fn version(&self) -> Arc<Version> {
        lock(&self.inner).version.clone()
    }

    /// The code, when active.
    pub fn code(&self) -> Option<Arc<LoadedActor>> {
        lock(&self.inner).code.clone()
    }

    /// Notes that a call begins; returns the code when active.
    pub fn begin_call(&self) -> Option<Arc<LoadedActor>> {
        self.last_call_unix_ms
            .store(unix_now_ms(), Ordering::Relaxed);
        let mut inner = lock(&self.inner);
        inner.last_active = Instant::now();
        inner.code.clone()
    }

    /// Waits for the turn to wake this replica. With it, check [`code`]
    /// again (the holder before may have woken it), then wake and
    /// [`woken`].
    ///
    /// [`code`]: Replica::code
    /// [`woken`]: Replica::woken
    pub async fn wake_turn(&self) -> WakeTurn {
        WakeTurn(self.waking.clone().lock_owned().await)
    }

    /// Records a wake of `version`. If an update replaced that version
    /// meanwhile, the wake counts for nothing: the update's code serves when
    /// active, else the caller wakes the version in force (`Ok(None)`).
    pub fn woken(
        &self,
        version: &Arc<Version>,
        outcome: Result<LoadedActor, LoadFailure>,
    ) -> Result<Option<Arc<LoadedActor>>, LoadFailure> {
        let mut inner = lock(&self.inner);
        if !Arc::ptr_eq(&inner.version, version) {
            return Ok(inner.code.clone());
        }
        match outcome {
            Ok(loaded) => {
                inner.wake_failure = None;
                inner.failed_at = None;
                inner.last_active = Instant::now();
                self.cold_starts.fetch_add(1, Ordering::Relaxed);
                let code = Arc::new(loaded);
                inner.code = Some(code.clone());
                Ok(Some(code))
            }
            Err(failure) => {
                inner.wake_failure = Some(failure.to_string());
                inner.failed_at = Some(Instant::now());
                Err(failure)
            }
        }
    }

    /// Why the last wake failed, if it failed less than `within` ago: calls
    /// that queued behind a failed wake, and those right after it, get its
    /// cause instead of each loading again.
    pub fn recent_failure(&self, within: Duration) -> Option<String> {
        let inner = lock(&self.inner);
        let at = inner.failed_at?;
        (at.elapsed() < within)
            .then(|| inner.wake_failure.clone())
            .flatten()
    }

    /// Makes `loaded` the version in force, active; returns the old version.
    pub fn swap(&self, loaded: LoadedActor) -> Arc<Version> {
        let mut inner = lock(&self.inner);
        inner.last_active = Instant::now();
        inner.wake_failure = None;
        inner.failed_at = None;
        let code = Arc::new(loaded);
        let version = Arc::new(Version::of(&code));
        inner.code = Some(code);
        std::mem::replace(&mut inner.version, version)
    }

    /// Goes dormant when active, idle for its `idle_after` as of `now`,
    /// and `in_flight` is zero; true when it did.
    pub fn sleep_if_idle(&self, now: Instant, in_flight: u64) -> bool {
        let Some(idle_after) = self.idle_after else {
            return false;
        };
        let mut inner = lock(&self.inner);
        if inner.code.is_none()
            || in_flight > 0
            || now.saturating_duration_since(inner.last_active) < idle_after
        {
            return false;
        }
        inner.code = None;
        true
    }

    pub fn report(&self) -> ReplicaReport {
        let inner = lock(&self.inner);
        let last = self.last_call_unix_ms.load(Ordering::Relaxed);
        ReplicaReport {
            state: if inner.code.is_some() {
                ReplicaState::Active
            } else {
                ReplicaState::Dormant
            },
            idle_after: self.idle_after,
            last_call_unix_ms: (last > 0).then_some(last),
            cold_starts: self.cold_starts.load(Ordering::Relaxed),
            wake_failure: inner.wake_failure.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::imports::test_claims;
    use crate::runtime::{Runtime, RuntimeLimits};

    fn loaded(runtime: &Runtime, reference: &str) -> LoadedActor {
        let component = wat::parse_str("(component)").expect("component");
        LoadedActor::load(
            runtime,
            Some(&component),
            test_claims(&[]),
            reference.to_owned(),
        )
        .expect("loads")
    }

    fn runtime() -> Runtime {
        Runtime::new(RuntimeLimits {
            max_instances: 2,
            max_memory_per_instance: 1 << 20,
            cache_dir: None,
            reuse: 0,
            shared: Default::default(),
        })
        .expect("runtime")
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_replica_sleeps_only_after_its_idle_time_with_nothing_in_flight() {
        let runtime = runtime();
        let replica = Replica::new(loaded(&runtime, "a"), Some(Duration::from_secs(2)));
        let start = Instant::now();
        assert!(!replica.sleep_if_idle(start + Duration::from_millis(1999), 0));
        assert!(
            !replica.sleep_if_idle(start + Duration::from_secs(3), 1),
            "a call in flight keeps it awake"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(replica.begin_call().is_some(), "active: the call gets code");
        assert!(
            !replica.sleep_if_idle(Instant::now() + Duration::from_millis(1999), 0),
            "a call restarts the idle time"
        );
        assert!(replica.sleep_if_idle(Instant::now() + Duration::from_secs(2), 0));
        let report = replica.report();
        assert_eq!(report.state, ReplicaState::Dormant);
        assert!(report.last_call_unix_ms.is_some());
        assert!(
            replica.begin_call().is_none(),
            "dormant: the call must wake it"
        );
        // Without an idle time a replica never sleeps.
        let awake = Replica::new(loaded(&runtime, "b"), None);
        assert!(!awake.sleep_if_idle(Instant::now() + Duration::from_secs(86_400), 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_counts_once_and_never_overrides_an_update() {
        let runtime = runtime();
        let replica = Replica::new(loaded(&runtime, "v1"), Some(Duration::from_secs(1)));
        assert!(replica.sleep_if_idle(Instant::now() + Duration::from_secs(1), 0));
        let asleep = replica.version();
        let turn = replica.wake_turn().await;
        // An update lands while the wake loads the old version.
        replica.swap(loaded(&runtime, "v2"));
        let code = replica
            .woken(&asleep, Ok(loaded(&runtime, "v1")))
            .expect("woken")
            .expect("the update's code is active");
        assert_eq!(code.reference, "v2", "the update's code serves");
        assert_eq!(replica.report().cold_starts, 0);
        drop(turn);

        assert!(replica.sleep_if_idle(Instant::now() + Duration::from_secs(1), 0));
        let version = replica.version();
        let failed = replica.woken(&version, Err(LoadFailure::Stopping));
        assert!(failed.is_err());
        let recent = Duration::from_secs(1);
        assert_eq!(
            replica.recent_failure(recent),
            Some(LoadFailure::Stopping.to_string()),
            "callers right after it get its cause"
        );
        tokio::time::advance(recent).await;
        assert_eq!(
            replica.recent_failure(recent),
            None,
            "then one may try again"
        );
        assert_eq!(
            replica.report().wake_failure,
            Some(LoadFailure::Stopping.to_string())
        );
        replica
            .woken(&version, Ok(loaded(&runtime, "v2")))
            .expect("woken");
        let report = replica.report();
        assert_eq!(
            (report.state, report.cold_starts),
            (ReplicaState::Active, 1)
        );
        assert_eq!(report.wake_failure, None);

        // A wake of a version an update replaced, while the update sleeps
        // too: nothing is installed; the caller wakes the version in force.
        assert!(replica.sleep_if_idle(Instant::now() + Duration::from_secs(1), 0));
        let old = replica.version();
        replica.swap(loaded(&runtime, "v3"));
        assert!(replica.sleep_if_idle(Instant::now() + Duration::from_secs(1), 0));
        let stale = replica
            .woken(&old, Err(LoadFailure::Stopping))
            .expect("a stale wake's failure is not the replica's");
        assert!(stale.is_none(), "dormant: wake the version in force");
        assert_eq!(replica.report().wake_failure, None);
    }
}
