//! [`Tasks`]: the host's one task tracker and its stop signal. Every task
//! the host starts is spawned here, so a stop cancels them all at once and
//! waits for them to drain.

use std::future::Future;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Spawns the host's tasks and tells them when the host stops.
#[derive(Debug, Clone)]
pub struct Tasks {
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Tasks {
    /// Tasks that stop when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Tasks {
            shutdown,
            tracker: TaskTracker::new(),
        }
    }

    /// Runs `task` on the tracker: a stop waits for it.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Completes once the host is told to stop.
    pub async fn stopping(&self) {
        self.shutdown.cancelled().await;
    }

    pub fn is_stopping(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// A token cancelled when the host stops, for code that takes one
    /// (cancelling it stops nothing else).
    pub fn stop_signal(&self) -> CancellationToken {
        self.shutdown.child_token()
    }

    /// Tells the host to stop (a signal, or `ctl.{host}.stop`).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// The tracker, for a loop that spawns each message's task on it.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Takes no more tasks and waits for those running, at most `limit`;
    /// false when some were still running then.
    pub async fn drain(&self, limit: std::time::Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(limit, self.tracker.wait())
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_tasks_that_watch_it_and_drain_waits_for_them() {
        let tasks = Tasks::new(CancellationToken::new());
        let watcher = tasks.clone();
        let ended = tasks.spawn(async move {
            watcher.stopping().await;
            "stopped"
        });
        let child = tasks.stop_signal();
        assert!(!tasks.is_stopping());
        tasks.stop();
        assert!(tasks.is_stopping());
        assert!(child.is_cancelled(), "a child token follows the stop");
        assert!(tasks.drain(Duration::from_secs(5)).await);
        assert_eq!(ended.await.expect("task"), "stopped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_never_ends_bounds_the_drain_and_cancelling_a_child_stops_nothing() {
        let tasks = Tasks::new(CancellationToken::new());
        tasks.stop_signal().cancel();
        assert!(!tasks.is_stopping(), "a child token cannot stop the host");
        tasks.spawn(std::future::pending::<()>());
        let started = tokio::time::Instant::now();
        assert!(!tasks.drain(Duration::from_secs(3)).await);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }
}
