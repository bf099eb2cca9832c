//! Hosts on a lattice: balancing, failover, auctions, isolation of failing
//! actors, refusals, fast not-found, updates under load, graceful stop.

use std::time::{Duration, Instant};

use floe_ctl::CtlError;
use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::ErrorKind;
use futures::StreamExt as _;
use serde_json::json;

use crate::lattice::{ECHO, Lattice, VERSION};

const LIMIT: Duration = Duration::from_secs(100);

fn invocation_kind(e: &CtlError) -> Option<ErrorKind> {
    match e {
        CtlError::Invocation(inv) => Some(inv.kind),
        _ => None,
    }
}

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

        let cli = FloeCli::new().expect("cli");
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
async fn failing_calls_are_typed_and_isolated() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice
            .host(
                &[],
                &[
                    "--max-memory-per-instance",
                    "32MiB",
                    "--invocation-timeout",
                    "2s",
                ],
            )
            .await;
        let echo = lattice.start(&host, "echo").await;
        let bad = lattice.start(&host, "misbehave").await;
        let quick = lattice.client_with_timeout(Duration::from_secs(1)).await;

        let echoes = async {
            let mut ok = 0;
            for i in 0..100 {
                let r = lattice
                    .call_json(&echo, ECHO, json!([format!("{i}")]))
                    .await;
                assert_eq!(r.expect("echo keeps answering"), json!(format!("{i}")));
                ok += 1;
            }
            ok
        };
        let failures = async {
            let panic = lattice
                .call_json(
                    &bad,
                    "floe:examples/misbehave.panic",
                    json!(["the guest gave up"]),
                )
                .await
                .expect_err("panic fails");
            let spin = quick
                .call(
                    &bad,
                    "floe:examples/misbehave.spin",
                    b"[]".to_vec(),
                    floe_wire::Encoding::Json,
                )
                .await
                .expect_err("spin fails");
            let bomb = lattice
                .call_json(&bad, "floe:examples/misbehave.exhaust", json!([]))
                .await
                .expect_err("memory bomb fails");
            (panic, spin, bomb)
        };
        let (ok, (panic, spin, bomb)) = tokio::join!(echoes, failures);
        assert_eq!(ok, 100);
        assert_eq!(invocation_kind(&panic), Some(ErrorKind::Trapped), "{panic}");
        assert!(
            panic.to_string().contains("the guest gave up"),
            "the panic text reaches the caller: {panic}"
        );
        assert_eq!(invocation_kind(&spin), Some(ErrorKind::TimedOut), "{spin}");
        assert_eq!(invocation_kind(&bomb), Some(ErrorKind::Trapped), "{bomb}");

        let fits = lattice
            .call_json(&bad, "floe:examples/misbehave.allocate", json!([8]))
            .await
            .expect("8 MiB fits under 32 MiB");
        assert_eq!(fits, json!(8u64 << 20));
        let too_big = lattice
            .call_json(&bad, "floe:examples/misbehave.allocate", json!([64]))
            .await
            .expect_err("64 MiB does not fit");
        assert_eq!(
            invocation_kind(&too_big),
            Some(ErrorKind::Trapped),
            "{too_big}"
        );
        assert_eq!(
            lattice
                .call_json(&bad, "floe:examples/misbehave.ok", json!([41]))
                .await
                .expect("still answers"),
            json!(42)
        );

        let bad_args = lattice
            .call_json(&echo, ECHO, json!([42]))
            .await
            .expect_err("wrong type");
        assert_eq!(
            invocation_kind(&bad_args),
            Some(ErrorKind::BadArguments),
            "{bad_args}"
        );
        let no_op = lattice
            .call_json(&echo, "floe:examples/echo.shout", json!([]))
            .await
            .expect_err("no op");
        assert_eq!(
            invocation_kind(&no_op),
            Some(ErrorKind::NoSuchOperation),
            "{no_op}"
        );

        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        let bad_inv = inv
            .actors
            .iter()
            .find(|a| a.actor_id == bad)
            .expect("misbehave listed");
        assert_eq!(
            bad_inv.failures.get("trapped"),
            Some(&3),
            "{:?}",
            bad_inv.failures
        );
        assert_eq!(
            bad_inv.failures.get("timed_out"),
            Some(&1),
            "{:?}",
            bad_inv.failures
        );
        assert_eq!(bad_inv.calls, 2);
        assert!(
            host.log().contains("the guest gave up"),
            "the trap reaches the host log"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_components_are_refused_with_their_reason() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let signed = std::fs::read(paths::actor("echo").expect("echo")).expect("read");
        let unsigned = floe_wire::claims::existing_claims(&signed).map(|_| ()).ok();
        assert!(unsigned.is_some());
        let guest = paths::workspace_root().join("target/guest/wasm32-wasip2/release/echo.wasm");
        let mut tampered = signed.clone();
        let mid = signed.len() / 3;
        tampered[mid] ^= 0x20;
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "unsigned.wasm",
                std::fs::read(&guest).expect("unsigned guest build"),
                "unsigned",
            ),
            ("tampered.wasm", tampered, "tampered"),
            (
                "garbage.wasm",
                b"definitely not wasm".to_vec(),
                "not a component",
            ),
            (
                "core.wasm",
                b"\0asm\x01\0\0\0".to_vec(),
                "core WebAssembly module",
            ),
            (
                "truncated.wasm",
                signed[..signed.len() / 2].to_vec(),
                "truncated",
            ),
        ];
        for (name, bytes, reason) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            let req = floe_wire::control::StartActorRequest {
                v: 1,
                reference: path.display().to_string(),
                max_concurrent: None,
                annotations: Default::default(),
            };
            let err = lattice
                .client
                .start_actor(host.id(), req)
                .await
                .expect_err("refused");
            assert!(err.to_string().contains(reason), "{name}: {err}");
        }
        let missing = floe_wire::control::StartActorRequest {
            v: 1,
            reference: dir.path().join("missing.wasm").display().to_string(),
            max_concurrent: None,
            annotations: Default::default(),
        };
        let err = lattice
            .client
            .start_actor(host.id(), missing)
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("cannot read"), "{err}");
        // The host still serves.
        let echo = lattice.start(&host, "echo").await;
        assert_eq!(
            lattice
                .call_json(&echo, ECHO, json!(["still here"]))
                .await
                .expect("call"),
            json!("still here")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_an_actor_nobody_runs_fails_at_once() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let _host = lattice.host(&[], &[]).await;
        let nobody = floe_wire::KeyKind::Actor.generate().public_key();
        let cli = FloeCli::new().expect("cli");
        let started = Instant::now();
        let out = cli.run([
            "call",
            &nobody,
            ECHO,
            "[\"hi\"]",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--timeout",
            "30s",
        ]);
        let elapsed = started.elapsed();
        assert!(!out.success);
        assert!(out.stderr.contains("not_found"), "{}", out.stderr);
        // Far below the 30 s timeout: NATS answers "no responders" at once.
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
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
        let stop = tokio_util_free_flag();
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
            let cli = FloeCli::new().expect("cli");
            let out = cli.json([
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
            ]);
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

fn tokio_util_free_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_error_replies() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = lattice.start(&host, "echo").await;
        let raw = lattice.nats.connect().await.expect("raw client");
        let subject = format!("floe.{}.ctl.{}.actor.start", lattice.name, host.id());
        let reply = raw
            .request(subject, "{not json".into())
            .await
            .expect("a reply");
        let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json reply");
        assert_eq!(reply["accepted"], false);
        assert!(
            reply["error"]
                .as_str()
                .expect("error")
                .contains("malformed"),
            "{reply}"
        );

        let rpc = format!("floe.{}.rpc.{echo}", lattice.name);
        let reply = raw
            .request(rpc, vec![0xc1, 0x00, 0xff].into())
            .await
            .expect("a reply");
        let reply = floe_wire::InvocationReply::decode(&reply.payload).expect("typed reply");
        let err = reply.outcome.expect_err("malformed envelope fails");
        assert_eq!(err.kind, ErrorKind::BadArguments, "{err}");

        let err = lattice
            .client
            .stop_actor(
                host.id(),
                &floe_wire::KeyKind::Actor.generate().public_key(),
            )
            .await;
        assert!(
            err.expect_err("unknown actor")
                .to_string()
                .contains("does not run")
        );
        assert_eq!(
            lattice
                .call_json(&echo, ECHO, json!(["fine"]))
                .await
                .expect("call"),
            json!("fine")
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
            .subscribe(format!("floe.{}.evt.host_stopped", lattice.name))
            .await
            .expect("subscribe");
        raw.flush().await.expect("flush");

        let cli = FloeCli::new().expect("cli");
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
