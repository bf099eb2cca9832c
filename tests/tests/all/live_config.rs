//! Config and secrets that change under running actors (docs/secrets.md):
//! a new secret version, `floe config put`, an app version with other
//! config, and a re-key of every secret — each while an actor with a
//! replica on each of two hosts is called in a loop. Every change is read
//! within a second, with no failed call and no restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use floe_ctl::CtlClient;
use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::EventType;
use serde_json::json;

use crate::apps::FAST;
use crate::lattice::Lattice;
use crate::secrets::{actor_id, put_secret};

const LIMIT: Duration = Duration::from_secs(150);
const GET: &str = "floe:examples/settings.get";

/// One call of the loop: when it started and what it returned.
type Sample = (Instant, Result<serde_json::Value, String>);

/// Calls `get(key)` on `actor` until stopped; returns every call.
struct Caller {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<Sample>>,
}

impl Caller {
    fn start(client: &CtlClient, actor: &str, key: &str) -> Caller {
        let stop = Arc::new(AtomicBool::new(false));
        let (client, actor, key) = (client.clone(), actor.to_owned(), key.to_owned());
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let got = client
                    .call(
                        &actor,
                        GET,
                        serde_json::to_vec(&json!([key])).expect("json"),
                        floe_wire::Encoding::Json,
                    )
                    .await
                    .map(|bytes| serde_json::from_slice(&bytes).expect("json"))
                    .map_err(|e| e.to_string());
                samples.push((started, got));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            samples
        });
        Caller { stop, task }
    }

    /// Stops the loop once `new` has been read for a while after `changed`.
    async fn finish(self, changed: Instant) -> Vec<Sample> {
        tokio::time::sleep_until((changed + Duration::from_millis(1500)).into()).await;
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("caller")
    }
}

/// Asserts no call failed, calls before the change read `old`, and every
/// call started a second or more after it read `new`; returns when the
/// new value was first read.
fn assert_switched(
    samples: &[Sample],
    changed: Instant,
    old: &str,
    new: &str,
    what: &str,
) -> Duration {
    let failed: Vec<_> = samples.iter().filter(|(_, r)| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{what}: {} calls failed: {:?}",
        failed.len(),
        failed.first()
    );
    assert!(
        samples
            .iter()
            .any(|(_, r)| r.as_ref().ok() == Some(&json!(old))),
        "{what}: old value read"
    );
    for (started, got) in samples {
        let got = got.as_ref().expect("checked");
        if *started >= changed + Duration::from_secs(1) {
            assert_eq!(
                got,
                &json!(new),
                "{what}: a call {:?} after the change",
                *started - changed
            );
        } else {
            assert!(got == &json!(old) || got == &json!(new), "{what}: {got}");
        }
    }
    let first = samples
        .iter()
        .find(|(started, got)| *started >= changed && got.as_ref().ok() == Some(&json!(new)))
        .map(|(started, _)| *started - changed)
        .unwrap_or_else(|| panic!("{what}: the new value was never read"));
    eprintln!("{what}: new value read {first:?} after the change");
    first
}

/// No replica was started or stopped while `events` listened.
async fn assert_no_restart(events: &mut async_nats::Subscriber, what: &str) {
    use futures::StreamExt as _;
    if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), events.next()).await {
        panic!(
            "{what}: a replica restarted: {}",
            String::from_utf8_lossy(&event.payload)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_versions_and_stored_config_reach_running_replicas_without_a_restart() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let a = lattice.host(&[], &[]).await;
        let b = lattice.host(&[], &[]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        put_secret(&cli, &lattice, "db", "version-1", &["settings"]);
        let path = paths::actor("settings").expect("settings");
        for host in [&a, &b] {
            let out = cli.run(lattice.args(&[
                "start",
                "actor",
                path.to_str().expect("utf-8"),
                "--host",
                host.id(),
                "--secret",
                "db_password=db",
                "--config",
                "greeting=start",
            ]));
            assert!(out.success, "{}\n{}", out.stderr, host.log());
        }
        let settings = actor_id("settings");
        let mut restarts = lattice.events(EventType::ActorStarted).await;

        let caller = Caller::start(&lattice.client, &settings, "db_password");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let changed = Instant::now();
        put_secret(&cli, &lattice, "db", "version-2", &["settings"]);
        let samples = caller.finish(changed).await;
        assert_switched(&samples, changed, "version-1", "version-2", "secret put");
        assert!(samples.len() > 20, "the loop ran: {}", samples.len());

        let caller = Caller::start(&lattice.client, &settings, "greeting");
        tokio::time::sleep(Duration::from_millis(300)).await;
        // By id: a name would first be looked up across the hosts (up to
        // the CLI's 1 s window) before the change is stored.
        let changed = Instant::now();
        cli.ok(lattice.args(&["config", "put", &settings, "greeting=stored"]));
        let samples = caller.finish(changed).await;
        assert_switched(&samples, changed, "start", "stored", "config put");
        let shown = cli.json(lattice.args(&["get", "config", "settings"]));
        assert_eq!(shown["stored"], json!({"greeting": "stored"}), "{shown}");
        assert_eq!(
            shown["replicas"].as_array().map(Vec::len),
            Some(2),
            "{shown}"
        );

        // Unset: the start's value shows again.
        cli.ok(lattice.args(&["config", "unset", "settings", "greeting"]));
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let got = lattice
                .call_json(&settings, GET, json!(["greeting"]))
                .await
                .expect("get");
            let again = lattice
                .call_json(&settings, GET, json!(["greeting"]))
                .await
                .expect("get");
            if got == json!("start") && again == json!("start") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the start's value shows within 1 s"
            );
        }
        assert_no_restart(&mut restarts, "secret and config changes").await;
        let calls: u64 = lattice
            .client
            .inventories(Duration::from_millis(500))
            .await
            .expect("inventories")
            .iter()
            .flat_map(|i| {
                i.actors
                    .iter()
                    .filter(|d| d.actor_id == settings)
                    .map(|d| d.calls)
            })
            .sum();
        assert!(
            calls > 40,
            "every call on the replicas started first: {calls}"
        );
    })
    .await;
}

fn app(image: &str, mode: &str, seq: u32) -> String {
    format!(
        r#"
name: conf
version: 1.0.{seq}
components:
  - name: settings
    kind: actor
    image: {image}
    config: {{mode: {mode}}}
    secrets: {{db_password: db}}
    placement:
      replicas: 2
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_version_that_changes_config_reaches_its_replicas_without_a_restart() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let _a = lattice.host(&[], &FAST).await;
        let _b = lattice.host(&[], &FAST).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        put_secret(&cli, &lattice, "db", "app-secret", &["settings"]);
        let image = paths::actor("settings").expect("settings");
        let image = image.to_str().expect("utf-8");
        let dir = tempfile::tempdir().expect("dir");
        let manifest = dir.path().join("app.yaml");
        std::fs::write(&manifest, app(image, "one", 1)).expect("write");
        cli.ok(lattice.args(&["app", "apply", manifest.to_str().expect("utf-8")]));
        let settings = actor_id("settings");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let replicas = lattice
                .client
                .inventories(Duration::from_millis(300))
                .await
                .expect("inventories")
                .iter()
                .filter(|i| i.actors.iter().any(|d| d.actor_id == settings))
                .count();
            if replicas == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "the app's two replicas run");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let got = lattice
            .call_json(&settings, GET, json!(["db_password"]))
            .await
            .expect("get");
        assert_eq!(
            got,
            json!("app-secret"),
            "the app's secrets mapping applies"
        );
        let mut restarts = lattice.events(EventType::ActorStarted).await;

        let caller = Caller::start(&lattice.client, &settings, "mode");
        tokio::time::sleep(Duration::from_millis(300)).await;
        std::fs::write(&manifest, app(image, "two", 2)).expect("write");
        let changed = Instant::now();
        cli.ok(lattice.args(&["app", "apply", manifest.to_str().expect("utf-8")]));
        let samples = caller.finish(changed).await;
        assert_switched(&samples, changed, "one", "two", "app version");
        assert_no_restart(&mut restarts, "an app's config change").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_moves_every_secret_to_the_new_key_while_calls_keep_succeeding() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let next = floe_wire::secrets::SecretsKey::generate();
        let seed_file = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(seed_file.path(), next.seed().expect("seed").as_bytes()).expect("write");
        let seed_path = seed_file.path().to_str().expect("utf-8");
        let args = [
            "--secrets-key",
            "cluster",
            "--secrets-key",
            seed_path,
            "--reconcile-interval",
            "300ms",
        ];
        let a = lattice.host(&[], &args).await;
        let b = lattice.host(&[], &args).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        put_secret(&cli, &lattice, "db", "before-rekey", &["settings"]);
        for i in 0..5 {
            put_secret(&cli, &lattice, &format!("other-{i}"), "x", &["settings"]);
        }
        let path = paths::actor("settings").expect("settings");
        for host in [&a, &b] {
            cli.ok(lattice.args(&[
                "start",
                "actor",
                path.to_str().expect("utf-8"),
                "--host",
                host.id(),
                "--secret",
                "db_password=db",
            ]));
        }
        let settings = actor_id("settings");
        let listed = cli.json(lattice.args(&["secret", "list"]));
        let old_key = listed[0]["key"].as_str().expect("key").to_owned();
        assert_ne!(old_key, next.id());

        let caller = Caller::start(&lattice.client, &settings, "db_password");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let out = cli.run(lattice.args(&["secret", "rotate-key", "--to", next.id()]));
        assert!(out.success, "{}\n{}\n{}", out.stderr, a.log(), b.log());
        assert!(
            out.stdout.contains(&format!("retired {old_key}")),
            "{}",
            out.stdout
        );
        let changed = Instant::now();
        let samples = caller.finish(changed).await;
        let failed = samples.iter().filter(|(_, r)| r.is_err()).count();
        assert_eq!(failed, 0, "no call failed during the re-key");
        assert!(
            samples
                .iter()
                .all(|(_, r)| r.as_ref().ok() == Some(&json!("before-rekey")))
        );
        let listed = cli.json(lattice.args(&["secret", "list"]));
        let keys: Vec<&str> = listed
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["key"].as_str().expect("key"))
            .collect();
        assert_eq!(keys.len(), 6);
        assert!(
            keys.iter().all(|k| *k == next.id()),
            "every entry on the new key: {keys:?}"
        );
        // A new version is sealed to the new key and read at once.
        put_secret(&cli, &lattice, "db", "after-rekey", &["settings"]);
        let deadline = Instant::now() + Duration::from_secs(1);
        while lattice
            .call_json(&settings, GET, json!(["db_password"]))
            .await
            .expect("get")
            != json!("after-rekey")
        {
            assert!(Instant::now() < deadline, "a new version reads within 1 s");
        }
        // Rotating to a key no host holds is refused before anything changes.
        let nobody = floe_wire::secrets::SecretsKey::generate();
        let out = cli.run(lattice.args(&["secret", "rotate-key", "--to", nobody.id()]));
        assert!(!out.success);
        assert!(
            out.stderr.contains("no host holds secrets key"),
            "{}",
            out.stderr
        );
    })
    .await;
}
