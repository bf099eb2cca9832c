//! Faults stay contained: failing guests, bad components, malformed
//! messages and absent actors each get a typed error, and everything else
//! keeps serving.

use std::time::{Duration, Instant};

use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::{ErrorKind, HostOp, Subject};
use serde_json::json;

use crate::lattice::{ECHO, Lattice, invocation_kind, start_request};

const LIMIT: Duration = Duration::from_secs(100);

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
        assert_eq!(bad_inv.calls, 6, "every call: two answered, four failed");
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
            let req = start_request(&path, None);
            let err = lattice
                .client
                .start_actor(host.id(), req)
                .await
                .expect_err("refused");
            assert!(err.to_string().contains(reason), "{name}: {err}");
        }
        let missing = start_request(&dir.path().join("missing.wasm"), None);
        let err = lattice
            .client
            .start_actor(host.id(), missing)
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("cannot read"), "{err}");
        // The host still serves.
        let echo = lattice.start(&host, "echo").await;
        lattice.assert_echo(&echo, "still here").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_an_actor_nobody_runs_fails_at_once() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let _host = lattice.host(&[], &[]).await;
        let nobody = floe_wire::KeyKind::Actor.generate().public_key();
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
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
async fn malformed_messages_get_error_replies() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = lattice.start(&host, "echo").await;
        let raw = lattice.nats.connect().await.expect("raw client");
        let subject = Subject::Host {
            host: host.id().to_owned(),
            op: HostOp::ActorStart,
        }
        .render(lattice.client.lattice());
        // Authentic (sealed with the lattice key) but malformed bodies: the
        // host parses them and says what is wrong.
        let sealed = floe_lattice::Requester::new(raw, floe_tests::auth_for(&lattice.name));
        let reply = sealed
            .request(subject, "{not json".into(), Duration::from_secs(10))
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

        let rpc = Subject::Rpc {
            entity: echo.clone(),
        }
        .render(lattice.client.lattice());
        let reply = sealed
            .request(rpc, vec![0xc1, 0x00, 0xff].into(), Duration::from_secs(10))
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
        lattice.assert_echo(&echo, "fine").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatty_guests_and_oversized_results_get_answers() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &["--max-call-bytes", "4MiB"]).await;
        let bad = lattice.start(&host, "misbehave").await;
        // 2,000 lines of 100 bytes: far beyond the 64 KiB kept for the log.
        let lines = lattice
            .call_json(&bad, "floe:examples/misbehave.chatter", json!([2000]))
            .await
            .expect("output beyond the cap is dropped, not refused");
        assert_eq!(lines, json!(2000));
        assert!(
            host.log().contains("output beyond"),
            "the truncation is logged"
        );
        // A result larger than the server's 1 MiB max payload comes back
        // through the payload store; one beyond the host's per-call limit
        // is a typed error at once, not a caller left waiting.
        let big = lattice
            .call_json(&bad, "floe:examples/misbehave.big", json!([1200]))
            .await
            .expect("a 1.2 MiB result");
        assert_eq!(big.as_array().map(Vec::len), Some(1200 * 1024));
        let started = Instant::now();
        let err = lattice
            .call_json(&bad, "floe:examples/misbehave.big", json!([3000]))
            .await
            .expect_err("over the per-call limit");
        assert!(
            err.to_string().contains("per-call limit of 4194304 bytes"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let fits = lattice
            .call_json(&bad, "floe:examples/misbehave.big", json!([1]))
            .await
            .expect("a small result fits");
        assert_eq!(fits.as_array().map(Vec::len), Some(1024));
    })
    .await;
}
