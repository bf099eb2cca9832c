//! Actors wired by links across hosts on a NATS cluster: routed calls with
//! typed values, link changes applied at once, links read at host start,
//! and calls resuming after the host's NATS server dies.

use std::time::{Duration, Instant};

use floe_ctl::{CtlClient, CtlError};
use floe_tests::{HostOptions, HostProcess, NatsCluster, paths, start_request, with_timeout};
use floe_wire::Link;
use floe_wire::{Encoding, ErrorKind};
use serde_json::json;

const WELCOME: &str = "acme:greet/front.welcome";

fn greeter_link(front: &str, greeter: &str) -> Link {
    Link::new(front, greeter, "acme:greet", &["greeter"])
}

async fn welcome(
    client: &CtlClient,
    front: &str,
    names: serde_json::Value,
) -> Result<serde_json::Value, CtlError> {
    let args = serde_json::to_vec(&json!([names, false])).expect("json");
    let bytes = client.call(front, WELCOME, args, Encoding::Json).await?;
    Ok(serde_json::from_slice(&bytes).expect("json result"))
}

fn actor_id(name: &str) -> String {
    let bytes = std::fs::read(paths::actor(name).expect("example")).expect("read");
    floe_wire::claims::existing_claims(&bytes)
        .expect("component")
        .expect("signed")
        .sub
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_linked_actors_call_across_hosts_and_survive_a_server() {
    with_timeout(Duration::from_secs(150), async {
        let mut cluster = NatsCluster::start().await.expect("cluster");
        let lattice = format!("t{}", uuid::Uuid::new_v4().simple());
        let cache = tempfile::tempdir().expect("cache");
        let options = || HostOptions {
            cache_dir: Some(cache.path().to_owned()),
            ..HostOptions::default()
        };
        let a = HostProcess::start(cluster.servers[0].url(), &lattice, options())
            .await
            .expect("host a");
        let b = HostProcess::start(cluster.servers[2].url(), &lattice, options())
            .await
            .expect("host b");
        let client = floe_tests::client(
            async_nats::connect(cluster.servers[2].url())
                .await
                .expect("client"),
            &lattice,
            Duration::from_secs(10),
        );
        let front = client
            .start_actor(
                a.id(),
                start_request(&paths::actor("front").expect("front"), None),
            )
            .await
            .expect("front starts on A")
            .actor_id;
        let greeter = client
            .start_actor(
                b.id(),
                start_request(&paths::actor("greeter").expect("greeter"), None),
            )
            .await
            .expect("greeter starts on B")
            .actor_id;

        // No link yet: the error names the interface and the link name.
        let err = welcome(&client, &front, json!(["Ada"]))
            .await
            .expect_err("no link");
        match &err {
            CtlError::Invocation(e) => assert_eq!(e.kind, ErrorKind::NoLink, "{e}"),
            other => panic!("expected no_link, got {other}"),
        }
        assert!(
            err.to_string().contains("acme:greet/greeter") && err.to_string().contains("default"),
            "{err}"
        );

        client
            .put_link(&greeter_link(&front, &greeter))
            .await
            .expect("link put");
        let greeted = retry(|| welcome(&client, &front, json!(["Ada", "Dr Grace"]))).await;
        assert_eq!(greeted, json!({"ok": ["Hello, Ada!", "Hello, Dr Grace!"]}));
        // The callee's own error value travels back as a WIT result.
        let refused = welcome(&client, &front, json!(["", "x"]))
            .await
            .expect("a typed err result");
        assert_eq!(
            refused,
            json!({"err": "the greeter refused ``: a person needs a name"})
        );
        let on_b = client.inventory(b.id()).await.expect("inventory b");
        let served = on_b
            .actors
            .iter()
            .find(|x| x.actor_id == greeter)
            .expect("greeter")
            .calls;
        assert_eq!(served, 3, "B built every greeting");

        // Deleting the link takes effect at once; putting it back restores it.
        client
            .delete_link(&front, "acme:greet", "default")
            .await
            .expect("link del");
        retry_until_err(
            || welcome(&client, &front, json!(["Ada"])),
            ErrorKind::NoLink,
        )
        .await;
        client
            .put_link(&greeter_link(&front, &greeter))
            .await
            .expect("link put again");
        retry(|| welcome(&client, &front, json!(["Ada"]))).await;

        // Host A's server dies: A reconnects to another server of the
        // cluster and calls resume, with nothing restarted and no link lost.
        cluster.servers[0].kill();
        let resumed = retry(|| welcome(&client, &front, json!(["again"]))).await;
        assert_eq!(resumed, json!({"ok": ["Hello, again!"]}));
        // The bucket is replicated: it still lists the link once JetStream
        // has re-elected the stream's leader.
        let started = Instant::now();
        let links = loop {
            match client.links().await {
                Ok(links) => break links,
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("links unreadable: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        assert_eq!(links.len(), 1, "{links:?}");
        drop((a, b));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_put_before_a_host_starts_apply_when_it_starts() {
    with_timeout(Duration::from_secs(100), async {
        let nats = floe_tests::NatsServer::start().await.expect("nats");
        let lattice = format!("t{}", uuid::Uuid::new_v4().simple());
        let client = floe_tests::client(
            nats.connect().await.expect("client"),
            &lattice,
            Duration::from_secs(10),
        );
        let (front, greeter) = (actor_id("front"), actor_id("greeter"));
        client
            .put_link(&greeter_link(&front, &greeter))
            .await
            .expect("link before any host");
        let host = HostProcess::start(nats.url(), &lattice, HostOptions::default())
            .await
            .expect("host");
        for name in ["front", "greeter"] {
            client
                .start_actor(
                    host.id(),
                    start_request(&paths::actor(name).expect(name), None),
                )
                .await
                .expect("start");
        }
        let greeted = welcome(&client, &front, json!(["Ada"]))
            .await
            .expect("linked from the start");
        assert_eq!(greeted, json!({"ok": ["Hello, Ada!"]}));

        // The actor picks another link name through floe:host/link: a
        // name no link has fails naming it; a link of that name routes.
        let through = |link_name: &'static str| {
            let client = client.clone();
            let front = front.clone();
            async move {
                let args = serde_json::to_vec(&json!([link_name, ["Ada"]])).expect("json");
                let bytes = client
                    .call(
                        &front,
                        "acme:greet/front.welcome-through",
                        args,
                        Encoding::Json,
                    )
                    .await?;
                Ok::<_, CtlError>(
                    serde_json::from_slice::<serde_json::Value>(&bytes).expect("json"),
                )
            }
        };
        let err = through("backup").await.expect_err("no link named backup");
        assert!(
            matches!(&err, CtlError::Invocation(e) if e.kind == ErrorKind::NoLink)
                && err.to_string().contains("`backup`")
                && err.to_string().contains("acme:greet/greeter"),
            "{err}"
        );
        let mut backup = greeter_link(&front, &greeter);
        backup.link_name = "backup".to_owned();
        client.put_link(&backup).await.expect("link put backup");
        assert_eq!(
            retry(|| through("backup")).await,
            json!({"ok": ["Hello, Ada!"]})
        );
        let bad = through("not a name!").await.expect("a typed err");
        assert!(
            bad["err"].as_str().is_some_and(|e| e.contains("link name")),
            "{bad}"
        );
        client
            .delete_link(&front, "acme:greet", "backup")
            .await
            .expect("link del backup");

        // The CLI sees and removes it, by name.
        let cli = floe_tests::FloeCli::for_lattice(&lattice).expect("cli");
        let flags = [
            "--nats-url",
            nats.url(),
            "--lattice",
            &lattice,
            "--window",
            "300ms",
        ];
        let with = |args: &[&str]| -> Vec<String> {
            args.iter()
                .chain(flags.iter())
                .map(|s| (*s).to_owned())
                .collect()
        };
        let listed = cli.json(with(&["get", "links"]));
        assert_eq!(listed[0]["target"], greeter.as_str(), "{listed}");
        cli.ok(with(&["link", "del", "front", "acme:greet"]));
        let again = cli.run(with(&["link", "del", "front", "acme:greet"]));
        assert!(
            !again.success && again.stderr.contains("no link"),
            "{}",
            again.stderr
        );
        let bad = cli.run(with(&["link", "put", "front", "greeter", "greeter"]));
        assert!(
            !bad.success && bad.stderr.contains("ns:pkg/iface"),
            "{}",
            bad.stderr
        );
    })
    .await;
}

/// Retries a call until it succeeds (a change propagating, a reconnect).
async fn retry<F, Fut>(call: F) -> serde_json::Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, CtlError>>,
{
    let started = Instant::now();
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e) if started.elapsed() > Duration::from_secs(30) => panic!("never succeeded: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Retries until the call fails with `kind`.
async fn retry_until_err<F, Fut>(call: F, kind: ErrorKind)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, CtlError>>,
{
    let started = Instant::now();
    loop {
        match call().await {
            Err(CtlError::Invocation(e)) if e.kind == kind => return,
            other if started.elapsed() > Duration::from_secs(10) => {
                panic!("expected {kind}, got {other:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
