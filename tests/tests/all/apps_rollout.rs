//! Rolling updates of an app: a new version replaces replicas one by one
//! with no failed call, a version that does not start stops the rollout
//! and leaves the one before serving, and a new leader finishes a rollback
//! after the old one is SIGKILLed.

use std::time::{Duration, Instant};

use floe_tests::{FloeCli, paths, with_timeout};

use crate::apps::{Caller, FAST, actor_of, versions_of, wait_for};
use crate::lattice::Lattice;

fn single(name_version: &str, image: &str) -> String {
    format!(
        r#"
name: web
version: {name_version}
components:
  - name: api
    kind: actor
    image: {image}
    placement:
      replicas: 2
"#
    )
}

/// Versions of app `web`'s api replicas, by host.
async fn api_versions(lattice: &Lattice) -> Vec<String> {
    versions_of(lattice, "web", None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_cluster_rolling_update_stops_on_a_broken_version_and_survives_the_leader() {
    with_timeout(Duration::from_secs(110), async {
        let lattice = Lattice::new().await;
        let mut hosts = vec![
            lattice.host(&[], &FAST).await,
            lattice.host(&[], &FAST).await,
            lattice.host(&[], &FAST).await,
        ];
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let with = |extra: &[&str]| lattice.args(extra);
        let dir = tempfile::tempdir().expect("dir");
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path.to_str().expect("utf8").to_owned()
        };
        let echo = paths::actor("echo").expect("echo");
        let next = paths::actor("echo-next").expect("echo-next");
        let v1 = write("v1.yaml", single("1.0.0", echo.to_str().expect("utf8")));
        let v2 = write("v2.yaml", single("2.0.0", next.to_str().expect("utf8")));
        let v3 = write("v3.yaml", single("3.0.0", "/nonexistent/echo-3.wasm"));
        let state = |cli: &FloeCli| cli.json(with(&["app", "status", "web"]))["status"].clone();

        cli.ok(with(&["app", "apply", &v1]));
        wait_for("v1 deployed", Duration::from_secs(30), || async {
            state(&cli)["state"] == "deployed"
        })
        .await;
        assert_eq!(api_versions(&lattice).await, ["0.1.0", "0.1.0"]);
        let actor = actor_of(&lattice, "web", "api").await;

        // A client calls throughout the rollouts.
        let caller = Caller::start(&lattice, &actor, Duration::from_millis(10));

        // Version 2 rolls out replica by replica with no failed call.
        cli.ok(with(&["app", "apply", &v2]));
        wait_for("v2 everywhere", Duration::from_secs(30), || async {
            api_versions(&lattice).await == ["0.2.0", "0.2.0"] && state(&cli)["state"] == "deployed"
        })
        .await;
        assert_eq!(caller.failures(), 0, "no call failed during the rollout");

        // Version 3 does not start: the rollout stops, version 2 keeps serving.
        cli.ok(with(&["app", "apply", &v3]));
        wait_for("v3 failed", Duration::from_secs(30), || async {
            let s = state(&cli);
            s["seq"] == 3
                && s["state"] == "failed"
                && s["reason"].as_str().is_some_and(|r| r.contains("rollout"))
        })
        .await;
        let failed = state(&cli);
        assert!(
            failed["reason"]
                .as_str()
                .is_some_and(|r| r.contains("rollout") && r.contains("nonexistent")),
            "{failed}"
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(api_versions(&lattice).await, ["0.2.0", "0.2.0"]);
        let (calls, failed_calls, _) = caller.stop().await;
        assert_eq!(failed_calls, 0, "no call failed in {calls}");
        assert!(calls > 50, "the client kept calling ({calls})");

        // The leader dies: another host takes the lease and finishes the job
        // (a rollback to version 2, applied as version 4).
        let leader = failed["leader"].as_str().expect("leader").to_owned();
        let index = hosts
            .iter()
            .position(|h| h.id() == leader)
            .expect("leader is ours");
        let mut dead = hosts.remove(index);
        let killed_at = Instant::now();
        dead.kill();
        let rolled = cli.json(with(&["app", "rollback", "web", "2"]));
        assert_eq!(rolled["seq"], 4, "{rolled}");
        wait_for(
            "converged under a new leader",
            Duration::from_secs(40),
            || async {
                let s = state(&cli);
                s["seq"] == 4
                    && s["state"] == "deployed"
                    && s["leader"] != leader.as_str()
                    && api_versions(&lattice).await == ["0.2.0", "0.2.0"]
            },
        )
        .await;
        eprintln!(
            "failover: a new leader deployed the rollback {:?} after the leader's SIGKILL",
            killed_at.elapsed()
        );
        let history = cli.json(with(&["app", "history", "web"]));
        assert_eq!(history.as_array().expect("list").len(), 4, "{history}");
        assert_eq!(history[3]["rollback_of"], 2);
    })
    .await;
}
