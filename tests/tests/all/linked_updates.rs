//! Actors that import an interface routed by link, changed in place: updated
//! to new code under a calling loop (no failed call), stopped and started
//! again on the same host, and a second component importing the same
//! interface started beside them (the host's linker defines routed imports
//! again for each).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use floe_tests::{paths, start_request, with_timeout};
use floe_wire::Link;
use serde_json::json;

use crate::lattice::{Lattice, invocation_kind};

const WELCOME: &str = "acme:greet/front.welcome";

/// Calls until the link just put reaches the host (it follows the KV
/// bucket), at most 10 s.
async fn once_linked(lattice: &Lattice, front: &str) -> serde_json::Value {
    for _ in 0..200 {
        match lattice
            .call_json(front, WELCOME, json!([["Ada"], false]))
            .await
        {
            Err(e) if invocation_kind(&e) == Some(floe_wire::ErrorKind::NoLink) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other.unwrap_or_else(|e| panic!("welcome failed: {e}")),
        }
    }
    panic!("the link never reached the host")
}

async fn welcome(lattice: &Lattice, front: &str) -> serde_json::Value {
    // Links reach a host through the KV bucket: a busy machine may apply
    // one late, which `once_linked` waits out; any other failure fails.
    once_linked(lattice, front).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_actors_update_restart_and_share_their_imports() {
    with_timeout(Duration::from_secs(150), async {
        let lattice = Arc::new(Lattice::new().await);
        let host = lattice.host(&[], &[]).await;
        let front = lattice.start(&host, "front").await;
        let greeter = lattice.start(&host, "greeter").await;
        let link = |source: &str| Link::new(source, &greeter, "acme:greet", &["greeter"]);
        lattice.client.put_link(&link(&front)).await.expect("link");
        assert_eq!(
            welcome(&lattice, &front).await,
            json!({"ok": ["Hello, Ada!"]})
        );

        // An update to new code (same id, same routed import) while a
        // client calls in a loop: every call answers, old code or new.
        let caller = Welcomer::start(lattice.clone(), &front, Duration::ZERO);
        while caller.calls() < 20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let next = paths::actor("front-next").expect("front-next");
        let updated = lattice
            .client
            .update_actor(host.id(), &front, &next.display().to_string())
            .await
            .unwrap_or_else(|e| panic!("the update: {e}\n{}", host.log()));
        assert_eq!(updated.actor_id, front, "same actor");
        let at_update = caller.calls();
        while caller.calls() < at_update + 20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (_, failures, first_failure) = caller.stop().await;
        assert_eq!(
            failures, 0,
            "calls failed during the update: {first_failure:?}"
        );
        assert_eq!(
            welcome(&lattice, &front).await,
            json!({"ok": ["Hello, Ada! (v2)"]}),
            "the new code answers"
        );

        // Stopped, then started again on the same host with the first code
        // (freed when the update replaced it, so linked anew).
        lattice
            .client
            .stop_actor(host.id(), &front)
            .await
            .expect("stop");
        let again = lattice
            .client
            .start_actor(
                host.id(),
                start_request(&paths::actor("front").expect("front"), None),
            )
            .await
            .unwrap_or_else(|e| panic!("start again: {e}\n{}", host.log()))
            .actor_id;
        assert_eq!(again, front);
        assert_eq!(
            welcome(&lattice, &front).await,
            json!({"ok": ["Hello, Ada!"]})
        );

        // A second component importing the same interface, beside it.
        let other = lattice.start(&host, "front-other").await;
        assert_ne!(other, front);
        lattice.client.put_link(&link(&other)).await.expect("link");
        assert_eq!(
            once_linked(&lattice, &other).await,
            json!({"ok": ["Hello, Ada! (v2)"]})
        );
        assert_eq!(
            welcome(&lattice, &front).await,
            json!({"ok": ["Hello, Ada!"]})
        );
    })
    .await;
}

/// A client calling `front`'s `welcome` in a loop (pausing `pause` between
/// calls), counting the calls and the failures, and keeping the first.
pub(crate) struct Welcomer {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Option<String>>,
}

impl Welcomer {
    pub(crate) fn start(lattice: Arc<Lattice>, front: &str, pause: Duration) -> Self {
        let (stop, calls, failed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let front = front.to_owned();
        let (stopped, counted, failures) = (stop.clone(), calls.clone(), failed.clone());
        let task = tokio::spawn(async move {
            let mut first = None;
            while !stopped.load(Ordering::SeqCst) {
                match lattice
                    .call_json(&front, WELCOME, json!([["Ada"], false]))
                    .await
                {
                    Ok(v) if v["ok"].is_array() => {}
                    other => {
                        failures.fetch_add(1, Ordering::SeqCst);
                        first.get_or_insert(format!("{other:?}"));
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            first
        });
        Welcomer {
            stop,
            calls,
            failed,
            task,
        }
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Calls made, calls failed, and the first failure.
    pub(crate) async fn stop(self) -> (u64, u64, Option<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let first = self.task.await.expect("the calling loop");
        (
            self.calls.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            first,
        )
    }
}
