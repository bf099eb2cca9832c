//! Replicas that follow load: an app component with `autoscale: {min: 1,
//! max: 3}` over three hosts grows to three replicas while thirty calls
//! are in flight at once, and shrinks back to one once the load stops and
//! the (test-small) scale-down window has passed — with no failed call
//! throughout, and an `app_scaled` event naming each decision; a leader
//! SIGKILLed right after deciding a scale-up is replaced by one that
//! finishes it, one replica per host, never a duplicate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;

use floe_tests::{FloeCli, HostProcess, paths, with_timeout};
use floe_wire::app::{APP_ANNOTATION, COMPONENT_ANNOTATION};
use serde_json::json;

use crate::apps::{FAST, apply_and_wait, wait_for};
use crate::lattice::Lattice;

/// A call that keeps an instance busy for a while (it fills 16 MiB).
const WORK: &str = "floe:examples/misbehave.allocate";

/// Starts `n` hosts and deploys app `api`: misbehave, autoscaled from 1 to
/// 3 replicas at 4 calls in flight each, shrinking after `scale_down_after`;
/// returns the hosts, a CLI, and the leader, once one replica runs.
async fn deploy(
    lattice: &Lattice,
    n: usize,
    scale_down_after: &str,
) -> (Vec<HostProcess>, FloeCli, String) {
    let mut hosts: Vec<HostProcess> = Vec::new();
    for _ in 0..n {
        hosts.push(lattice.host(&[], &FAST).await);
    }
    let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
    let work = paths::actor("misbehave").expect("misbehave");
    let yaml = format!(
        "name: api\nversion: 1.0.0\ncomponents:\n  - name: api\n    kind: actor\n    image: {}\n    placement:\n      autoscale:\n        min: 1\n        max: 3\n        target-in-flight: 4\n        scale-down-after: {scale_down_after}\n",
        work.display()
    );
    let leader = apply_and_wait(lattice, &cli, "api", &yaml).await;
    wait_for("one replica", Duration::from_secs(30), || async {
        replicas(lattice).await == 1
    })
    .await;
    (hosts, cli, leader)
}

/// Hosts running a replica of app `api`'s component `api`.
async fn replicas(lattice: &Lattice) -> usize {
    lattice
        .client
        .inventories(Duration::from_secs(2))
        .await
        .expect("inventories")
        .iter()
        .filter(|inv| {
            inv.actors.iter().any(|a| {
                a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some("api")
                    && a.annotations.get(COMPONENT_ANNOTATION).map(String::as_str) == Some("api")
            })
        })
        .count()
}

/// `n` loops each keeping one call in flight until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(lattice: &Lattice, actor: &str, n: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let tasks = (0..n)
            .map(|_| {
                let (client, actor) = (lattice.client.clone(), actor.to_owned());
                let (stop, calls, failures) = (stop.clone(), calls.clone(), failures.clone());
                tokio::spawn(async move {
                    let body = serde_json::to_vec(&json!([16])).expect("json");
                    while !stop.load(Ordering::SeqCst) {
                        calls.fetch_add(1, Ordering::SeqCst);
                        if let Err(e) = client
                            .call(&actor, WORK, body.clone(), floe_wire::Encoding::Json)
                            .await
                        {
                            eprintln!("call failed: {e}");
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            calls,
            failures,
            tasks,
        }
    }

    /// Calls made and calls failed.
    async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("caller");
        }
        (
            self.calls.load(Ordering::SeqCst),
            self.failures.load(Ordering::SeqCst),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_cluster_replicas_follow_load_up_and_down() {
    with_timeout(Duration::from_secs(120), async {
        let lattice = Lattice::new().await;
        let (_hosts, _cli, _leader) = deploy(&lattice, 3, "2s").await;
        let actor = crate::apps::actor_of(&lattice, "api", "api").await;
        let mut scaled = lattice.events(floe_wire::EventType::AppScaled).await;

        // One call at a time: one replica is enough.
        let trickle = Load::start(&lattice, &actor, 1);
        let decided = tokio::time::timeout(Duration::from_secs(2), scaled.next()).await;
        assert!(
            decided.is_err(),
            "one call in flight needs one replica: {decided:?}"
        );
        assert_eq!(replicas(&lattice).await, 1);

        // Thirty at once: three replicas.
        let burst_at = Instant::now();
        let burst = Load::start(&lattice, &actor, 29);
        wait_for(
            "three replicas under load",
            Duration::from_secs(30),
            || async { replicas(&lattice).await == 3 },
        )
        .await;
        eprintln!(
            "scaled up to 3 replicas {:?} after the load rose",
            burst_at.elapsed()
        );
        let up = crate::lattice::next_event(&mut scaled).await;
        assert_eq!(up["data"]["component"], "api", "{up}");
        assert!(
            up["data"]["to"].as_u64() > up["data"]["from"].as_u64(),
            "{up}"
        );
        assert!(
            up["data"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("in flight")),
            "{up}"
        );

        // The burst stops; after the window, back to one.
        let (burst_calls, burst_failed) = burst.stop().await;
        let calm_at = Instant::now();
        wait_for("back to one replica", Duration::from_secs(30), || async {
            replicas(&lattice).await == 1
        })
        .await;
        let calm_after = calm_at.elapsed();
        eprintln!("scaled down to 1 replica {calm_after:?} after the load fell");
        assert!(
            calm_after >= Duration::from_secs(2),
            "not before the scale-down window: {calm_after:?}"
        );
        let mut last = crate::lattice::next_event(&mut scaled).await;
        while last["data"]["to"] != 1 {
            last = crate::lattice::next_event(&mut scaled).await;
        }
        assert!(
            last["data"]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{last}"
        );

        let (trickle_calls, trickle_failed) = trickle.stop().await;
        eprintln!(
            "calls: {burst_calls} in the burst, {trickle_calls} in the trickle; failed: {}",
            burst_failed + trickle_failed
        );
        assert_eq!(
            burst_failed + trickle_failed,
            0,
            "no call failed while scaling"
        );
    })
    .await;
}

/// Replicas of app `api`'s component `api` per host (a duplicate would
/// show as a host with two).
async fn replicas_per_host(lattice: &Lattice) -> Vec<usize> {
    lattice
        .client
        .inventories(Duration::from_secs(2))
        .await
        .expect("inventories")
        .iter()
        .map(|inv| {
            inv.actors
                .iter()
                .filter(|a| {
                    a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some("api")
                        && a.annotations.get(COMPONENT_ANNOTATION).map(String::as_str)
                            == Some("api")
                })
                .count()
        })
        .filter(|n| *n > 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_cluster_a_new_leader_finishes_a_scale_up_without_duplicates() {
    with_timeout(Duration::from_secs(120), async {
        let lattice = Lattice::new().await;
        // Five hosts: after the leader's death four remain, so a new leader
        // that overshot or duplicated would show more than three replicas.
        let (mut hosts, cli, leader) = deploy(&lattice, 5, "1m").await;
        let actor = crate::apps::actor_of(&lattice, "api", "api").await;
        let mut scaled = lattice.events(floe_wire::EventType::AppScaled).await;
        let burst = Load::start(&lattice, &actor, 30);
        // The leader decides to scale up, then dies before or while it acts.
        let up = crate::lattice::next_event(&mut scaled).await;
        assert_eq!(up["source"], leader.as_str(), "{up}");
        let index = hosts
            .iter()
            .position(|h| h.id() == leader)
            .expect("the leader is one of ours");
        let mut dead = hosts.remove(index);
        dead.kill();
        let killed_at = Instant::now();
        wait_for(
            "three replicas under a new leader",
            Duration::from_secs(40),
            || async { replicas(&lattice).await == 3 },
        )
        .await;
        eprintln!(
            "a new leader finished the scale-up {:?} after the old one was killed",
            killed_at.elapsed()
        );
        // Never a duplicate or more than three, while the load goes on (a
        // host slow to answer under load may be missing from one sample).
        for _ in 0..8 {
            let per_host = replicas_per_host(&lattice).await;
            assert!(
                per_host.iter().all(|n| *n == 1),
                "one replica per host: {per_host:?}"
            );
            assert!(per_host.len() <= 3, "never more than three: {per_host:?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        wait_for("three replicas still", Duration::from_secs(10), || async {
            replicas(&lattice).await == 3
        })
        .await;
        let status = cli.json(lattice.args(&["app", "status", "api"]));
        assert_ne!(status["status"]["leader"], leader.as_str(), "{status}");
        let (calls, failed) = burst.stop().await;
        eprintln!("{failed} of {calls} calls failed across the leader's death");
    })
    .await;
}
