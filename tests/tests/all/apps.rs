//! Declarative apps with real hosts: a manifest applied with `floe app
//! apply` is placed by the reconciler inside the hosts (replicas spread by
//! label weights, a daemon on every matching host), healed after a host is
//! SIGKILLed, extended to a host that joins, and removed by `floe app
//! delete` without touching what was started by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use floe_tests::{FloeCli, HostProcess, paths, with_timeout};
use floe_wire::app::{APP_ANNOTATION, COMPONENT_ANNOTATION};
use floe_wire::control::HostInventory;

use crate::lattice::{ECHO, Lattice};

/// Timing knobs small enough for a test: a host is lost after 3 × 300 ms,
/// a dead leader replaced within 1.5 s.
pub(crate) const FAST: [&str; 8] = [
    "--heartbeat",
    "300ms",
    "--missed-beats",
    "3",
    "--lease-ttl",
    "1500ms",
    "--reconcile-interval",
    "300ms",
];

fn manifest(echo: &str, settings: &str, front: &str, greeter: &str, native: &str) -> String {
    format!(
        r#"
name: shop
version: 1.0.0
components:
  - name: api
    kind: actor
    image: {echo}
    max-concurrent: 4
    placement:
      replicas: 3
      spread:
        - requirements: {{zone: a}}
          weight: 2
        - requirements: {{zone: b}}
          weight: 1
  - name: settings
    kind: actor
    image: {settings}
    config: {{greeting: hello}}
    placement:
      daemon: true
      requirements: {{zone: b}}
  - name: front
    kind: actor
    image: {front}
  - name: greeter
    kind: actor
    image: {greeter}
  - name: native
    kind: provider
    image: {native}
    placement:
      replicas: 1
      requirements: {{zone: a}}
links:
  - source: front
    target: greeter
    interfaces: [acme:greet/greeter]
"#
    )
}

/// Hosts running component `component` of app `shop`, by host id.
async fn running(lattice: &Lattice, component: &str) -> Vec<String> {
    let inventories: Vec<HostInventory> = lattice
        .client
        .inventories(Duration::from_millis(500))
        .await
        .expect("inventories");
    let mut hosts: Vec<String> = inventories
        .iter()
        .filter(|inv| {
            inv.actors.iter().any(|a| {
                a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some("shop")
                    && a.annotations.get(COMPONENT_ANNOTATION).map(String::as_str)
                        == Some(component)
            })
        })
        .map(|inv| inv.host.host_id.clone())
        .collect();
    hosts.sort();
    hosts
}

/// The actor id of component `component` of app `app`.
pub(crate) async fn actor_of(lattice: &Lattice, app: &str, component: &str) -> String {
    lattice
        .client
        .inventories(Duration::from_millis(500))
        .await
        .expect("inventories")
        .iter()
        .flat_map(|inv| inv.actors.iter())
        .find(|a| {
            a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some(app)
                && a.annotations.get(COMPONENT_ANNOTATION).map(String::as_str) == Some(component)
        })
        .unwrap_or_else(|| panic!("{app}/{component} runs"))
        .actor_id
        .clone()
}

/// Hosts running a provider of app `app`.
async fn providers_of(lattice: &Lattice, app: &str) -> Vec<String> {
    lattice
        .client
        .inventories(Duration::from_millis(500))
        .await
        .expect("inventories")
        .iter()
        .filter(|inv| {
            inv.providers
                .iter()
                .any(|p| p.annotations.get(APP_ANNOTATION).map(String::as_str) == Some(app))
        })
        .map(|inv| inv.host.host_id.clone())
        .collect()
}

/// A client calling echo on `actor` in a loop, counting failures and how
/// long they went on.
pub(crate) struct Caller {
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<(u64, Option<Duration>)>,
}

impl Caller {
    pub(crate) fn start(lattice: &Lattice, actor: &str, pause: Duration) -> Caller {
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(AtomicU64::new(0));
        let (client, actor) = (lattice.client.clone(), actor.to_owned());
        let (stopped, failed) = (stop.clone(), failures.clone());
        let task = tokio::spawn(async move {
            let mut calls = 0u64;
            let mut first: Option<Instant> = None;
            let mut last: Option<Instant> = None;
            while !stopped.load(Ordering::SeqCst) {
                calls += 1;
                let body = serde_json::to_vec(&serde_json::json!(["hi"])).expect("json");
                if let Err(e) = client
                    .call(&actor, ECHO, body, floe_wire::Encoding::Json)
                    .await
                {
                    eprintln!("call failed: {e}");
                    failed.fetch_add(1, Ordering::SeqCst);
                    first.get_or_insert_with(Instant::now);
                    last = Some(Instant::now());
                }
                tokio::time::sleep(pause).await;
            }
            (calls, first.zip(last).map(|(f, l)| l - f))
        });
        Caller {
            stop,
            failures,
            task,
        }
    }

    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::SeqCst)
    }

    /// Calls made, calls failed, and from the first failure to the last.
    pub(crate) async fn stop(self) -> (u64, u64, Option<Duration>) {
        self.stop.store(true, Ordering::SeqCst);
        let failures = self.failures.clone();
        let (calls, window) = self.task.await.expect("caller");
        (calls, failures.load(Ordering::SeqCst), window)
    }
}

/// Applies the app manifest `yaml` (named `name`) with the CLI, waits until
/// it is deployed, and returns the host that leads the reconciler then.
pub(crate) async fn apply_and_wait(
    lattice: &Lattice,
    cli: &FloeCli,
    name: &str,
    yaml: &str,
) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join(format!("{name}.yaml"));
    std::fs::write(&file, yaml).expect("manifest");
    cli.ok(lattice.args(&["app", "apply", file.to_str().expect("utf-8")]));
    let status_args = lattice.args(&["app", "status", name]);
    wait_for("deployed", Duration::from_secs(30), || async {
        cli.json(&status_args)["status"]["state"] == "deployed"
    })
    .await;
    cli.json(&status_args)["status"]["leader"]
        .as_str()
        .expect("a leader wrote the status")
        .to_owned()
}

pub(crate) async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_cluster_spread_heal_join_and_delete() {
    with_timeout(Duration::from_secs(110), async {
        let lattice = Lattice::new().await;
        let a1 = lattice.host(&[("zone", "a")], &FAST).await;
        let a2 = lattice.host(&[("zone", "a")], &FAST).await;
        let b1 = lattice.host(&[("zone", "b")], &FAST).await;
        let b2 = lattice.host(&[("zone", "b")], &FAST).await;
        let zone_a = [a1.id().to_owned(), a2.id().to_owned()];
        let zone_b = [b1.id().to_owned(), b2.id().to_owned()];
        // Started by hand: app delete must leave it alone.
        let manual = lattice.start(&a1, "misbehave").await;

        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let with = |extra: &[&str]| lattice.args(extra);
        let dir = tempfile::tempdir().expect("dir");
        let echo = paths::actor("echo").expect("echo");
        let settings = paths::actor("settings").expect("settings");
        let file = dir.path().join("shop.yaml");
        let front = paths::actor("front").expect("front");
        let greeter = paths::actor("greeter").expect("greeter");
        let utf8 = |p: &std::path::Path| p.to_str().expect("utf8").to_owned();
        std::fs::write(
            &file,
            manifest(
                &utf8(&echo),
                &utf8(&settings),
                &utf8(&front),
                &utf8(&greeter),
                &utf8(&paths::bin("greeter-native").expect("built")),
            ),
        )
        .expect("write");
        let file = file.to_str().expect("utf8");

        // Bad manifests are refused with the field at fault.
        let bad = dir.path().join("bad.yaml");
        std::fs::write(
            &bad,
            manifest("/x.wasm", "/y.wasm", "/z.wasm", "/w.wasm", "/v").replace("weight: 1", "weight: 0"),
        )
        .expect("write");
        let refused = cli.run(with(&["app", "apply", bad.to_str().expect("utf8")]));
        assert!(!refused.success);
        assert!(
            refused
                .stderr
                .contains("components[0].placement.spread[1].weight"),
            "{}",
            refused.stderr
        );
        std::fs::write(&bad, "name: shop\nversion: 1\ncomponents: []\nextra: 1\n").expect("write");
        let refused = cli.run(with(&["app", "apply", bad.to_str().expect("utf8")]));
        assert!(!refused.success);
        assert!(
            refused.stderr.contains("extra") && refused.stderr.contains("line"),
            "{}",
            refused.stderr
        );

        let applied = cli.json(with(&["app", "apply", file]));
        assert_eq!(applied["seq"], 1, "{applied}");
        let deployed = |cli: &FloeCli| {
            let status = cli.json(with(&["app", "status", "shop"]));
            status["status"]["state"] == "deployed"
        };
        wait_for("deployed", Duration::from_secs(30), || async {
            deployed(&cli)
        })
        .await;

        // 3 replicas spread 2:1, a replica per host; the daemon on both zone=b hosts.
        let api = running(&lattice, "api").await;
        assert_eq!(api.len(), 3, "{api:?}");
        assert_eq!(
            api.iter().filter(|h| zone_a.contains(h)).count(),
            2,
            "{api:?}"
        );
        assert_eq!(
            api.iter().filter(|h| zone_b.contains(h)).count(),
            1,
            "{api:?}"
        );
        let mut expected_b = zone_b.to_vec();
        expected_b.sort();
        assert_eq!(running(&lattice, "settings").await, expected_b);
        let listed = cli.json(with(&["app", "list"]));
        assert_eq!(listed[0]["state"], "deployed", "{listed}");
        assert_eq!(providers_of(&lattice, "shop").await.len(), 1);
        assert!(
            providers_of(&lattice, "shop")
                .await
                .iter()
                .all(|h| zone_a.contains(h)),
            "the provider runs in zone a"
        );
        // The app's link routes front's import to its greeter.
        let front_id = actor_of(&lattice, "shop", "front").await;
        let greeted = crate::providers::welcome(&lattice, &front_id, "Ada", false)
            .await
            .expect("front calls greeter through the app's link");
        assert!(greeted["ok"].is_array(), "{greeted}");
        let links = lattice.client.links().await.expect("links");
        assert_eq!(
            links
                .iter()
                .filter(|l| l.annotations.get(APP_ANNOTATION).map(String::as_str) == Some("shop"))
                .count(),
            1,
            "{links:?}"
        );

        // An app whose artifact does not exist fails, with the reason.
        let ghost = dir.path().join("ghost.yaml");
        std::fs::write(
            &ghost,
            "name: ghost\nversion: 1.0.0\ncomponents:\n  - name: api\n    kind: actor\n    image: floe://nope:1\n",
        )
        .expect("write");
        cli.ok(with(&["app", "apply", ghost.to_str().expect("utf8")]));
        wait_for("ghost failed", Duration::from_secs(20), || async {
            let s = cli.json(with(&["app", "status", "ghost"]));
            s["status"]["state"] == "failed"
                && s["status"]["reason"].as_str().is_some_and(|r| r.contains("no artifact"))
        })
        .await;
        cli.ok(with(&["app", "delete", "ghost"]));

        // A client calls api throughout; SIGKILL the zone=b host that runs it.
        let actor = actor_of(&lattice, "shop", "api").await;
        let caller = Caller::start(&lattice, &actor, Duration::from_millis(20));
        let victim_id = api
            .iter()
            .find(|h| zone_b.contains(h))
            .expect("a zone=b replica")
            .clone();
        let (mut victim, survivor): (HostProcess, String) = if victim_id == b1.id() {
            (b1, b2.id().to_owned())
        } else {
            (b2, b1.id().to_owned())
        };
        let mut lost = lattice.events(floe_wire::EventType::HostLost).await;
        let killed_at = Instant::now();
        victim.kill();
        let event = crate::lattice::next_event(&mut lost).await;
        assert_eq!(event["data"]["host_id"], victim_id.as_str(), "{event}");
        wait_for(
            "api back to 3 replicas",
            Duration::from_secs(30),
            || async {
                running(&lattice, "api").await.contains(&survivor)
                    && running(&lattice, "api").await.len() == 3
            },
        )
        .await;
        let healed_after = killed_at.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (calls, failed, failing_for) = caller.stop().await;
        eprintln!(
            "healing: host lost and replica replaced {healed_after:?} after SIGKILL; \
             {failed} of {calls} calls failed, over {failing_for:?}"
        );
        assert!(failed < calls / 2, "{failed} of {calls} calls failed");
        wait_for("deployed again", Duration::from_secs(20), || async {
            deployed(&cli)
        })
        .await;

        // A host joining zone=b gets the daemon (and no api: zone b has its one).
        let b3 = lattice.host(&[("zone", "b")], &FAST).await;
        wait_for(
            "the daemon on the new host",
            Duration::from_secs(20),
            || async {
                running(&lattice, "settings")
                    .await
                    .contains(&b3.id().to_owned())
            },
        )
        .await;
        assert_eq!(running(&lattice, "api").await.len(), 3);

        // Delete: everything of the app goes, the hand-started actor stays.
        cli.ok(with(&["app", "delete", "shop"]));
        wait_for("app gone", Duration::from_secs(30), || async {
            cli.json(with(&["app", "list"]))
                .as_array()
                .is_some_and(Vec::is_empty)
        })
        .await;
        assert!(providers_of(&lattice, "shop").await.is_empty());
        for component in ["api", "settings", "front", "greeter"] {
            assert!(running(&lattice, component).await.is_empty(), "{component} still runs");
        }
        let links = lattice.client.links().await.expect("links");
        assert!(
            links.iter().all(|l| !l.annotations.contains_key(APP_ANNOTATION)),
            "{links:?}"
        );
        let kept = lattice.client.inventory(a1.id()).await.expect("inventory");
        assert!(
            kept.actors.iter().any(|a| a.actor_id == manual),
            "the hand-started actor still runs: {:?}",
            kept.actors
        );
        let missing = cli.run(with(&["app", "status", "shop"]));
        assert!(!missing.success);
        assert!(
            missing.stderr.contains("no app named `shop`"),
            "{}",
            missing.stderr
        );
        drop((a1, a2, b3));
    })
    .await;
}

/// Sorted versions of app `app`'s actor replicas (of those named `name`,
/// when given), one per host running one.
pub(crate) async fn versions_of(lattice: &Lattice, app: &str, name: Option<&str>) -> Vec<String> {
    let inventories = lattice
        .client
        .inventories(Duration::from_millis(500))
        .await
        .expect("inventories");
    let mut versions: Vec<String> = inventories
        .iter()
        .flat_map(|inv| inv.actors.iter())
        .filter(|a| a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some(app))
        .filter(|a| name.is_none_or(|n| a.name == n))
        .map(|a| a.version.clone())
        .collect();
    versions.sort();
    versions
}
