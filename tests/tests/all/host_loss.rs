//! A host lost with the **default** timing flags: SIGKILL a host (not the
//! leader) that runs a replica of an app's actor; the leader announces
//! `host_lost` and a replacement replica serves within seconds (the design
//! says 3 s: heartbeat 1 s, lost after 2 missed beats, a pass each second).

use std::time::{Duration, Instant};

use floe_tests::{FloeCli, HostProcess, paths, with_timeout};
use floe_wire::app::{APP_ANNOTATION, COMPONENT_ANNOTATION};

use crate::apps::{apply_and_wait, wait_for};
use crate::lattice::Lattice;

/// Hosts running a replica of `app`/`component`, by host id.
async fn replicas(lattice: &Lattice, app: &str, component: &str) -> Vec<String> {
    let mut hosts: Vec<String> = lattice
        .client
        .inventories(Duration::from_secs(2))
        .await
        .expect("inventories")
        .into_iter()
        .filter(|inv| {
            inv.actors.iter().any(|a| {
                a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some(app)
                    && a.annotations.get(COMPONENT_ANNOTATION).map(String::as_str)
                        == Some(component)
            })
        })
        .map(|inv| inv.host.host_id)
        .collect();
    hosts.sort();
    hosts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_cluster_a_lost_host_is_replaced_within_seconds_with_default_flags() {
    with_timeout(Duration::from_secs(100), async {
        let lattice = Lattice::new().await;
        let mut hosts: Vec<HostProcess> = Vec::new();
        for _ in 0..3 {
            hosts.push(lattice.host(&[], &[]).await);
        }
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let echo = paths::actor("echo").expect("echo");
        let yaml = format!(
            "name: api\nversion: 1.0.0\ncomponents:\n  - name: api\n    kind: actor\n    image: {}\n    placement:\n      replicas: 2\n",
            echo.display()
        );
        let leader = apply_and_wait(&lattice, &cli, "api", &yaml).await;
        let running = replicas(&lattice, "api", "api").await;
        assert_eq!(running.len(), 2, "{running:?}");
        let victim = running
            .iter()
            .find(|h| **h != leader)
            .expect("a replica on a host that does not lead")
            .clone();

        let mut lost = lattice.events(floe_wire::EventType::HostLost).await;
        let index = hosts
            .iter()
            .position(|h| h.id() == victim)
            .expect("one of ours");
        let mut killed = hosts.remove(index);
        let killed_at = Instant::now();
        killed.kill();
        let event = crate::lattice::next_event(&mut lost).await;
        let lost_after = killed_at.elapsed();
        assert_eq!(event["data"]["host_id"], victim.as_str(), "{event}");
        wait_for("a replacement replica", Duration::from_secs(20), || async {
            let now = replicas(&lattice, "api", "api").await;
            now.len() == 2 && !now.contains(&victim)
        })
        .await;
        let replaced_after = killed_at.elapsed();
        eprintln!(
            "default flags: host_lost {lost_after:?} and a replacement replica {replaced_after:?} after SIGKILL"
        );
        assert!(
            replaced_after <= Duration::from_secs(5),
            "replaced {replaced_after:?} after the kill"
        );
    })
    .await;
}
