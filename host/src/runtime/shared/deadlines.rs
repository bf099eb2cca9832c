//! What the driver and the callers of one shared instance share: why it
//! stopped, and the deadlines that bound the guest's computing there (read
//! by the store's epoch callback).

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use floe_wire::InvocationError;

/// How long past a deadline a guest may still compute before it is
/// interrupted: time for the caller whose deadline it was to give up its
/// place, so a call that was only waiting does not take down the calls
/// computing beside it (its instance takes no more calls instead).
pub const INTERRUPT_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// What the driver and the callers of one instance share.
#[derive(Default)]
pub struct InstanceShared {
    /// Why the instance stopped, for the calls it could not answer.
    pub failure: OnceLock<InvocationError>,
    deadlines: Mutex<Deadlines>,
}

/// The deadlines that bound the guest's computing in one instance.
#[derive(Default)]
pub struct Deadlines {
    /// Of the calls running, earliest first.
    pub running: BTreeSet<(Instant, u64)>,
    /// The latest of every call taken: with none running, what the guest
    /// still computes (a task left behind) ends there.
    pub latest: Option<Instant>,
    /// The deadline of a call whose caller gave up: the guest may still be
    /// computing for it (a loop that never yields holds every call of the
    /// instance), so computing ends there for the whole instance.
    pub gave_up: Option<Instant>,
}

impl Deadlines {
    pub fn add(&mut self, at: Instant, id: u64) {
        self.running.insert((at, id));
        self.latest = self.latest.max(Some(at));
    }

    /// Whether a guest computing now has run past its bound: the earliest
    /// deadline of the calls running (with none, the latest it was given),
    /// or that of a call whose caller gave up.
    pub fn overdue(&self, now: Instant) -> bool {
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
    pub fn deadlines(&self) -> MutexGuard<'_, Deadlines> {
        self.deadlines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
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
