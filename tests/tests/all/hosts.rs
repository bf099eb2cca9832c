//! Hosts on a lattice: balancing, failover, auctions, updates under load,
//! graceful stop.

use std::time::Duration;

use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::{EventType, Subject};
use futures::StreamExt as _;
use serde_json::json;

use crate::lattice::{ECHO, Lattice, VERSION};

const LIMIT: Duration = Duration::from_secs(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_share_calls_and_survive_a_killed_host() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let mut a = lattice.host(&[], &[]).await;
        let b = lattice.host(&[], &[]).await;
        let echo = lattice.start(&a, "echo").await;
        assert_eq!(
            lattice.start(&b, "echo").await,
            echo,
            "same actor id on both"
        );

        let calls = futures::stream::iter(0..200)
            .map(|i| {
                let lattice = &lattice;
                let echo = &echo;
                async move {
                    lattice
                        .call_json(echo, ECHO, json!([format!("hello {i}")]))
                        .await
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        for (i, r) in calls.iter().enumerate() {
            assert!(r.is_ok(), "call {i} failed: {r:?}");
        }
        let served = |inv: floe_wire::control::HostInventory| {
            inv.actors
                .iter()
                .find(|x| x.actor_id == echo)
                .map_or(0, |x| x.calls)
        };
        let served_a = served(lattice.client.inventory(a.id()).await.expect("inventory a"));
        let served_b = served(lattice.client.inventory(b.id()).await.expect("inventory b"));
        assert_eq!(served_a + served_b, 200, "every call was counted once");
        assert!(
            served_a > 0 && served_b > 0,
            "both hosts served: {served_a} / {served_b}"
        );

        a.kill();
        // Wait until the server has dropped the dead host's subscriptions
        // (its control subject then has no responders).
        while !matches!(
            lattice.client.inventory(a.id()).await,
            Err(floe_ctl::CtlError::NotFound(_))
        ) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for i in 0..50 {
            let r = lattice
                .call_json(&echo, ECHO, json!([format!("after {i}")]))
                .await;
            assert_eq!(
                r.expect("calls go to the host left"),
                json!(format!("after {i}"))
            );
        }
        let served_b_after = served(lattice.client.inventory(b.id()).await.expect("inventory b"));
        assert_eq!(served_b_after, served_b + 50);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auction_with_a_constraint_lands_on_the_labelled_host() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let a = lattice.host(&[("zone", "a")], &[]).await;
        let b = lattice.host(&[("zone", "b")], &[]).await;
        let bids = lattice
            .client
            .auction_actor(
                [("zone".to_owned(), "b".to_owned())].into(),
                Duration::from_millis(500),
            )
            .await
            .expect("auction");
        assert_eq!(bids.len(), 1, "{bids:?}");
        assert_eq!(bids[0].host_id, b.id());

        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let echo = paths::actor("echo").expect("echo");
        let out = cli.json([
            "start",
            "actor",
            echo.to_str().expect("utf8"),
            "--constraint",
            "zone=b",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--window",
            "500ms",
        ]);
        assert_eq!(out["host_id"], b.id(), "{out}");
        let on_a = lattice.client.inventory(a.id()).await.expect("inventory a");
        let on_b = lattice.client.inventory(b.id()).await.expect("inventory b");
        assert!(on_a.actors.is_empty());
        assert_eq!(on_b.actors.len(), 1);
        let none = cli.run([
            "start",
            "actor",
            echo.to_str().expect("utf8"),
            "--constraint",
            "zone=c",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--window",
            "300ms",
        ]);
        assert!(!none.success);
        assert!(
            none.stderr.contains("no host fits zone=c"),
            "{}",
            none.stderr
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_under_load_fails_no_call() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = lattice.start(&host, "echo").await;
        assert_eq!(
            lattice
                .call_json(&echo, VERSION, json!([]))
                .await
                .expect("v1"),
            json!("0.1.0")
        );
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load = {
            let stop = stop.clone();
            let lattice = &lattice;
            let echo = echo.clone();
            async move {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 20 {
                    let r = lattice
                        .call_json(&echo, ECHO, json!([format!("{n}")]))
                        .await;
                    assert_eq!(
                        r.expect("no call fails during the update"),
                        json!(format!("{n}"))
                    );
                    n += 1;
                }
                n
            }
        };
        let update = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let next = paths::actor("echo-next").expect("echo-next");
            // The CLI blocks: run it off the runtime so the calling loop
            // keeps calls in flight during the swap.
            let args: Vec<String> = [
                "update",
                "actor",
                &echo,
                next.to_str().expect("utf8"),
                "--nats-url",
                lattice.nats.url(),
                "--lattice",
                &lattice.name,
                "--window",
                "300ms",
            ]
            .map(str::to_owned)
            .to_vec();
            let name = lattice.name.clone();
            let out = tokio::task::spawn_blocking(move || {
                FloeCli::for_lattice(&name).expect("cli").json(args)
            })
            .await
            .expect("cli task");
            assert_eq!(out["version"], "0.2.0", "{out}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        };
        let (n, ()) = tokio::join!(load, update);
        assert!(n >= 20);
        assert_eq!(
            lattice
                .call_json(&echo, VERSION, json!([]))
                .await
                .expect("v2"),
            json!("0.2.0")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_stop_gracefully_on_request_and_on_sigterm() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let mut a = lattice.host(&[], &[]).await;
        let mut b = lattice.host(&[], &[]).await;
        let raw = lattice.nats.connect().await.expect("raw client");
        let mut stopped = raw
            .subscribe(
                Subject::Event(EventType::HostStopped).render(&lattice.client.lattice().clone()),
            )
            .await
            .expect("subscribe");
        raw.flush().await.expect("flush");

        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let hosts = cli.json([
            "get",
            "hosts",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--window",
            "500ms",
        ]);
        assert_eq!(hosts.as_array().expect("array").len(), 2, "{hosts}");
        cli.ok([
            "stop",
            "host",
            a.id(),
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
        ]);
        assert!(
            a.wait_exit(Duration::from_secs(15))
                .await
                .expect("exits")
                .success()
        );
        b.terminate().expect("SIGTERM");
        assert!(
            b.wait_exit(Duration::from_secs(15))
                .await
                .expect("exits")
                .success()
        );
        let mut sources = Vec::new();
        for _ in 0..2 {
            let msg = tokio::time::timeout(Duration::from_secs(5), stopped.next())
                .await
                .expect("host_stopped arrives")
                .expect("message");
            let ev: floe_wire::CloudEvent =
                serde_json::from_slice(&msg.payload).expect("cloud event");
            assert_eq!(ev.event_type(), Some(floe_wire::EventType::HostStopped));
            sources.push(ev.source);
        }
        sources.sort();
        let mut expected = vec![a.id().to_owned(), b.id().to_owned()];
        expected.sort();
        assert_eq!(sources, expected);
    })
    .await;
}
