//! A rolling update of an app component that imports an interface routed
//! by link: every replica of `front` moves to new code (same actor id, same
//! routed import) through the reconciler while a client calls it
//! throughout, and no call fails.

use std::sync::Arc;
use std::time::Duration;

use floe_tests::{FloeCli, paths, with_timeout};
use serde_json::json;

use crate::apps::{FAST, actor_of, versions_of, wait_for};
use crate::lattice::Lattice;
use crate::linked_updates::Welcomer;

const WELCOME: &str = "acme:greet/front.welcome";

fn relay(version: &str, front: &str, greeter: &str) -> String {
    format!(
        r#"
name: relay
version: {version}
components:
  - name: front
    kind: actor
    image: {front}
    placement:
      replicas: 2
  - name: greeter
    kind: actor
    image: {greeter}
links:
  - source: front
    target: greeter
    interfaces: [acme:greet/greeter]
"#
    )
}

/// Versions of app `relay`'s front replicas.
async fn front_versions(lattice: &Lattice) -> Vec<String> {
    versions_of(lattice, "relay", Some("front")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_cluster_linked_component_rolls_out_with_no_failed_call() {
    with_timeout(Duration::from_secs(110), async {
        let lattice = Arc::new(Lattice::new().await);
        let _hosts = [
            lattice.host(&[], &FAST).await,
            lattice.host(&[], &FAST).await,
        ];
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let with = |extra: &[&str]| lattice.args(extra);
        let dir = tempfile::tempdir().expect("dir");
        let path = |name: &str| {
            paths::actor(name)
                .expect("example")
                .to_str()
                .expect("utf8")
                .to_owned()
        };
        let write = |name: &str, text: String| {
            let file = dir.path().join(name);
            std::fs::write(&file, text).expect("write");
            file.to_str().expect("utf8").to_owned()
        };
        let v1 = write("v1.yaml", relay("1.0.0", &path("front"), &path("greeter")));
        let v2 = write(
            "v2.yaml",
            relay("2.0.0", &path("front-next"), &path("greeter")),
        );
        let state = || cli.json(with(&["app", "status", "relay"]))["status"].clone();

        cli.ok(with(&["app", "apply", &v1]));
        wait_for(
            "v1 deployed and linked",
            Duration::from_secs(30),
            || async {
                state()["state"] == "deployed"
                    && front_versions(&lattice).await == ["0.1.0", "0.1.0"]
            },
        )
        .await;
        let front = actor_of(&lattice, "relay", "front").await;
        // The app's link reaches the hosts through the KV bucket.
        wait_for("the link routes", Duration::from_secs(30), || async {
            lattice
                .call_json(&front, WELCOME, json!([["Ada"], false]))
                .await
                .is_ok()
        })
        .await;

        // A client calls throughout the rollout.
        let caller = Welcomer::start(lattice.clone(), &front, Duration::from_millis(10));

        cli.ok(with(&["app", "apply", &v2]));
        wait_for("v2 everywhere", Duration::from_secs(40), || async {
            front_versions(&lattice).await == ["0.2.0", "0.2.0"] && state()["state"] == "deployed"
        })
        .await;
        let at_rollout = caller.calls();
        wait_for(
            "calls after the rollout",
            Duration::from_secs(10),
            || async { caller.calls() > at_rollout + 20 },
        )
        .await;
        let (made, failures, first) = caller.stop().await;
        assert_eq!(failures, 0, "{failures} of {made} calls failed: {first:?}");
        assert!(made > 50, "the client kept calling ({made})");
        let answer = lattice
            .call_json(&front, WELCOME, json!([["Ada"], false]))
            .await
            .expect("the new code answers");
        assert_eq!(answer, json!({"ok": ["Hello, Ada! (v2)"]}));
    })
    .await;
}
