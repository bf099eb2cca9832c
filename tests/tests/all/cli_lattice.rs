//! The `floe` CLI against a real lattice: names instead of ids, WAVE,
//! labels, annotations, scaling, the busy limit, and the compile cache.

use std::time::Duration;

use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::ErrorKind;
use serde_json::json;

use crate::lattice::{ECHO, Lattice, start_request};

const LIMIT: Duration = Duration::from_secs(100);

fn lattice_args(lattice: &Lattice) -> Vec<String> {
    let seed = floe_tests::seed_for(&lattice.name);
    [
        "--nats-url",
        lattice.nats.url(),
        "--lattice",
        &lattice.name,
        "--cluster-seed",
        &seed,
        "--window",
        "300ms",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_works_with_names_wave_labels_and_annotations() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[("zone", "a")], &[]).await;
        let cli = FloeCli::new().expect("cli");
        let args = lattice_args(&lattice);
        let with = |extra: &[&str]| -> Vec<String> {
            extra
                .iter()
                .map(|s| (*s).to_owned())
                .chain(args.iter().cloned())
                .collect()
        };
        let echo = paths::actor("echo").expect("echo");
        let started = cli.json(with(&[
            "start",
            "actor",
            echo.to_str().expect("utf8"),
            "--host",
            &host.id()[..12],
            "--max-concurrent",
            "3",
            "--annotation",
            "owner=team-a",
        ]));
        assert_eq!(started["name"], "echo");
        let again = cli.json(with(&[
            "start",
            "actor",
            echo.to_str().expect("utf8"),
            "--host",
            host.id(),
        ]));
        assert_eq!(
            again["already_running"], true,
            "starting twice is a no-op that says so"
        );

        // Calls by name, JSON and WAVE.
        let out = cli.ok(with(&["call", "echo", ECHO, "[\"by name\"]"]));
        assert_eq!(out.trim(), "\"by name\"");
        let out = cli.ok(with(&[
            "call",
            "echo",
            "floe:examples/echo.reverse",
            "[[1, 2, 3]]",
        ]));
        assert_eq!(out.trim(), "[3,2,1]");
        let out = cli.ok(with(&["call", "echo", ECHO, "--wave", "\"wave\""]));
        assert_eq!(out.trim(), "\"wave\"");
        let bad = cli.run(with(&["call", "echo", ECHO, "not json"]));
        assert!(!bad.success);
        assert!(bad.stderr.contains("JSON array"), "{}", bad.stderr);
        let wrong = cli.run(with(&["call", "echo", ECHO, "[1]"]));
        assert!(!wrong.success);
        assert!(wrong.stderr.contains("bad_arguments"), "{}", wrong.stderr);
        let unknown = cli.run(with(&["call", "nobody-by-this-name", ECHO, "[\"x\"]"]));
        assert!(!unknown.success);
        assert!(
            unknown.stderr.contains("no running actor is named"),
            "{}",
            unknown.stderr
        );

        // Inventory shows annotations, max-concurrent and counters.
        let inv = cli.json(with(&["get", "inventory"]));
        let actor = &inv[0]["actors"][0];
        assert_eq!(actor["annotations"]["owner"], "team-a", "{inv}");
        assert_eq!(actor["max_concurrent"], 3);
        assert_eq!(actor["calls"], 4, "every call, the failed one included");
        assert_eq!(actor["failures"]["bad_arguments"], 1);

        cli.ok(with(&["scale", "actor", "echo", "--max-concurrent", "5"]));
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        assert_eq!(inv.actors[0].max_concurrent, 5);

        // Labels.
        let labels = cli.json(with(&["label", "put", host.id(), "tier=gold"]));
        assert_eq!(labels["tier"], "gold");
        assert_eq!(labels["zone"], "a");
        let labels = cli.json(with(&["label", "del", host.id(), "zone"]));
        assert!(labels.get("zone").is_none(), "{labels}");
        let hosts = cli.json(with(&["get", "hosts"]));
        assert_eq!(hosts[0]["labels"]["tier"], "gold");

        cli.ok(with(&["stop", "actor", "echo"]));
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        assert!(inv.actors.is_empty());
        // Once `stop` has replied the actor takes no calls: the very next
        // one finds nobody (by id; the name no longer resolves either).
        let stopped = lattice
            .client
            .call(
                started["actor_id"].as_str().expect("id"),
                ECHO,
                b"[\"x\"]".to_vec(),
                floe_wire::Encoding::Json,
            )
            .await;
        assert!(
            matches!(stopped, Err(floe_ctl::CtlError::NotFound(_))),
            "{stopped:?}"
        );
        let gone = cli.run(with(&["call", "echo", ECHO, "[\"x\"]"]));
        assert!(!gone.success);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_max_concurrent_and_a_full_queue_are_busy() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice
            .host(&[], &["--queue-depth", "0", "--invocation-timeout", "2s"])
            .await;
        let req = start_request(&paths::actor("misbehave").expect("misbehave"), Some(1));
        let bad = lattice
            .client
            .start_actor(host.id(), req)
            .await
            .expect("start")
            .actor_id;
        let slow = lattice
            .client_with_timeout(Duration::from_millis(1500))
            .await;
        let spin = Lattice::spawn_spin(&slow, &bad);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let busy = lattice
            .call_json(&bad, "floe:examples/misbehave.ok", json!([1]))
            .await
            .map(|v| panic!("expected busy, got {v}; host log:\n{}", host.log()))
            .expect_err("the only instance is busy and nothing may wait");
        match &busy {
            floe_ctl::CtlError::Invocation(e) => assert_eq!(e.kind, ErrorKind::Busy, "{e}"),
            other => panic!("expected busy, got {other}"),
        }
        let _ = spin.await;

        lattice
            .client
            .scale_actor(host.id(), &bad, 2)
            .await
            .expect("scale");
        let spin = Lattice::spawn_spin(&slow, &bad);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let ok = lattice
            .call_json(&bad, "floe:examples/misbehave.ok", json!([1]))
            .await
            .expect("a second instance is free after scaling to 2");
        assert_eq!(ok, json!(2));
        let _ = spin.await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_host_reuses_compiled_code() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let mut first = lattice.host(&[], &[]).await;
        lattice.start(&first, "echo").await;
        assert!(first.log().contains("code=Compiled"), "{}", first.log());
        first.kill();
        // Same cache directory (the lattice fixture shares one), new process.
        let second = lattice.host(&[], &[]).await;
        let echo = lattice.start(&second, "echo").await;
        assert!(second.log().contains("code=DiskCache"), "{}", second.log());
        lattice.assert_echo(&echo, "cached").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_actors_and_providers_sum_over_the_hosts() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let (a, b) = (lattice.host(&[], &[]).await, lattice.host(&[], &[]).await);
        let echo = lattice.start(&a, "echo").await;
        lattice.start(&b, "echo").await;
        let greeter = lattice.start(&b, "greeter").await;
        let provider = lattice.start_provider(&a, "greeter-native").await;
        for i in 0..4 {
            lattice.assert_echo(&echo, &format!("hi {i}")).await;
        }
        let cli = FloeCli::new().expect("cli");
        let with = |extra: &[&str]| -> Vec<String> {
            extra
                .iter()
                .map(|s| (*s).to_owned())
                .chain(lattice_args(&lattice))
                .collect()
        };
        let actors = cli.json(with(&["get", "actors"]));
        let actors = actors.as_array().expect("a list");
        assert_eq!(actors.len(), 2, "{actors:?}");
        let summed = actors
            .iter()
            .find(|s| s["actor_id"] == echo.as_str())
            .expect("echo listed");
        assert_eq!(summed["name"], "echo");
        assert_eq!(summed["calls"], 4, "{summed}");
        assert_eq!(summed["replicas"].as_array().map(Vec::len), Some(2));
        assert_eq!(summed["versions"], json!(["0.1.0"]));
        let single = actors
            .iter()
            .find(|s| s["actor_id"] == greeter.as_str())
            .expect("greeter listed");
        assert_eq!(single["replicas"][0]["host_id"], b.id());
        let providers = cli.json(with(&["get", "providers"]));
        assert_eq!(
            providers[0]["provider_id"],
            provider.as_str(),
            "{providers}"
        );
        assert_eq!(providers[0]["healthy"], 1, "{providers}");
        assert_eq!(providers[0]["replicas"][0]["host_id"], a.id());
        let claims = cli.json(with(&["get", "claims"]));
        let claims = claims.as_array().expect("a list");
        assert_eq!(claims.len(), 2, "one per running version: {claims:?}");
        let names: Vec<&str> = claims
            .iter()
            .filter_map(|c| c["floe"]["name"].as_str())
            .collect();
        assert_eq!(names, ["echo", "greeter"]);
        assert!(
            claims
                .iter()
                .all(|c| c["iss"].as_str().is_some_and(|i| i.starts_with('A')))
        );
        let hosts = cli.json(with(&["get", "hosts"]));
        let on_a = hosts
            .as_array()
            .and_then(|h| h.iter().find(|h| h["host_id"] == a.id()))
            .expect("host a");
        assert_eq!(on_a["providers"], 1, "{on_a}");
        // The same data as YAML.
        let yaml = cli.ok(with(&["get", "providers", "-o", "yaml"]));
        let parsed: serde_json::Value = serde_yaml_ng::from_str(&yaml).expect("YAML parses");
        assert_eq!(parsed, providers, "{yaml}");
        let text = cli.ok(with(&["get", "actors"]));
        assert!(
            text.lines().next().is_some_and(|h| h.starts_with("NAME")),
            "{text}"
        );
        assert!(text.contains(&echo), "{text}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_the_events_asked_for() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = lattice.start(&host, "echo").await;
        let mut args = vec![
            "watch".to_owned(),
            "--type".to_owned(),
            "link_put".to_owned(),
            "--count".to_owned(),
            "2".to_owned(),
            "-o".to_owned(),
            "json".to_owned(),
        ];
        args.extend(lattice_args(&lattice));
        let watcher = tokio::task::spawn_blocking(move || FloeCli::new().expect("cli").run(args));
        // Events keep coming (links put, an actor started between them)
        // until the watcher has seen two of the type it asked for.
        let mut round = 0;
        while !watcher.is_finished() {
            assert!(round < 100, "the watcher never saw two link_put events");
            let link = floe_wire::Link::new(&echo, &echo, &format!("acme:w{round}"), &["x"]);
            lattice.client.put_link(&link).await.expect("link put");
            if round == 1 {
                lattice.start(&host, "greeter").await;
            }
            round += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let out = watcher.await.expect("watcher");
        assert!(out.success, "{}", out.stderr);
        let events: Vec<serde_json::Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
            .collect();
        assert_eq!(events.len(), 2, "{}", out.stdout);
        for event in &events {
            assert_eq!(event["type"], "dev.floe.link_put", "{event}");
            assert_eq!(event["data"]["source"], echo.as_str(), "{event}");
        }
        let bad = FloeCli::new()
            .expect("cli")
            .run(["watch", "--type", "actor_exploded"]);
        assert!(!bad.success);
        assert!(bad.stderr.contains("actor_started"), "{}", bad.stderr);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_hold_the_connection_settings() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let cli = FloeCli::new().expect("cli");
        let seed = floe_tests::seed_for(&lattice.name);
        let added = cli.ok([
            "context",
            "add",
            "test",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--cluster-seed",
            &seed,
            "--use",
        ]);
        assert!(added.contains("now current"), "{added}");
        // No connection flag at all: the context supplies them.
        let hosts = cli.json(["get", "hosts", "--window", "300ms"]);
        assert_eq!(hosts[0]["host_id"], host.id(), "{hosts}");
        let listed = cli.json(["context", "list"]);
        assert_eq!(listed["current-context"], "test");
        assert_eq!(listed["contexts"]["test"]["nats-url"], lattice.nats.url());
        assert_eq!(
            listed["contexts"]["test"]["cluster-seed"], "<seed>",
            "a seed is never printed: {listed}"
        );
        let file = std::fs::read_to_string(cli.home().join("config.toml")).expect("config");
        assert!(file.contains(&lattice.name), "{file}");
        // A flag wins over the context.
        let elsewhere = cli.json(["get", "hosts", "--window", "300ms", "--lattice", "nowhere"]);
        assert_eq!(elsewhere, json!([]), "{elsewhere}");
        let unknown = cli.run(["--context", "prod", "get", "hosts"]);
        assert!(!unknown.success);
        assert!(
            unknown
                .stderr
                .contains("no context named `prod` (known: test"),
            "{}",
            unknown.stderr
        );
        let empty = cli.run(["context", "add", "blank"]);
        assert!(!empty.success);
        assert!(
            empty.stderr.contains("would set nothing"),
            "{}",
            empty.stderr
        );
        cli.ok(["context", "del", "test"]);
        let none = cli.ok(["context", "list"]);
        assert!(none.contains("No contexts"), "{none}");
    })
    .await;
}
