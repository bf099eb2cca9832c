//! The invocation path against a hostile bus and at any size: a party
//! without the lattice key answering every request first (garbage, forged
//! `503`s) fails no call, direct or routed by link; an actor that runs
//! nowhere fails fast; payloads of several MiB cross in both directions
//! through the payload store, checked byte for byte, and one over the
//! per-call limit is refused naming it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use floe_tests::{Forger, with_timeout};
use floe_wire::{Encoding, ErrorKind, Link, Subject};
use serde_json::json;

use crate::lattice::{ECHO, Lattice, invocation_kind};

const LIMIT: Duration = Duration::from_secs(150);
const WELCOME: &str = "acme:greet/front.welcome";
const REVERSE: &str = "floe:examples/echo.reverse";

/// Msgpack for one `list<u8>` parameter (an array of one bin 32).
pub fn bytes_arg(bytes: &[u8]) -> Vec<u8> {
    let len = u32::try_from(bytes.len()).expect("under 4 GiB");
    let mut out = Vec::with_capacity(bytes.len() + 6);
    out.push(0x91);
    out.push(0xc6);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

/// The bytes of a msgpack bin (any width).
pub fn bin_value(encoded: &[u8]) -> &[u8] {
    let (skip, len) = match encoded.first() {
        Some(0xc4) => (2, usize::from(encoded[1])),
        Some(0xc5) => (3, usize::from(u16::from_be_bytes([encoded[1], encoded[2]]))),
        Some(0xc6) => (
            5,
            u32::from_be_bytes([encoded[1], encoded[2], encoded[3], encoded[4]]) as usize,
        ),
        other => panic!("not a msgpack bin: {other:?}"),
    };
    assert_eq!(encoded.len(), skip + len, "one bin, nothing after it");
    &encoded[skip..]
}

/// A payload whose every byte depends on its position.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn welcome(lattice: &Lattice, front: &str) -> Result<serde_json::Value, floe_ctl::CtlError> {
    lattice
        .call_json(front, WELCOME, json!([["Ada"], false]))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replies_and_503s_fail_no_call() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = lattice.start(&host, "echo").await;
        let front = lattice.start(&host, "front").await;
        let greeter = lattice.start(&host, "greeter").await;
        lattice
            .client
            .put_link(&Link::new(&front, &greeter, "acme:greet", &["greeter"]))
            .await
            .expect("link");
        // The link reaches the host through the KV bucket: wait for it.
        for _ in 0..200 {
            match welcome(&lattice, &front).await {
                Err(e) if invocation_kind(&e) == Some(ErrorKind::NoLink) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => {
                    other.expect("the first routed call");
                    break;
                }
            }
        }
        let rpc = |entity: &str| {
            Subject::Rpc {
                entity: entity.to_owned(),
            }
            .render(lattice.client.lattice())
        };
        let forger = Forger::start(lattice.nats.port(), &[rpc(&echo), rpc(&greeter)])
            .await
            .expect("the forger subscribes");
        for i in 0..100 {
            lattice.assert_echo(&echo, &format!("call {i}")).await;
        }
        for i in 0..100 {
            let answer = welcome(&lattice, &front)
                .await
                .unwrap_or_else(|e| panic!("routed call {i} failed: {e}"));
            assert_eq!(answer, json!({"ok": ["Hello, Ada!"]}));
        }
        assert!(forger.seen() >= 200, "the forger saw {}", forger.seen());
        // The forgeries were seen and counted by whoever received them: the
        // CLI's client for direct calls, the host's router for routed ones.
        let missing = |counts: &BTreeMap<String, u64>| counts.get("missing").copied().unwrap_or(0);
        // (The last forgeries may still be on their way: counted on arrival.)
        let mut by_client = lattice.client.auth().rejected_by_reason();
        let mut by_host = BTreeMap::new();
        for _ in 0..250 {
            by_client = lattice.client.auth().rejected_by_reason();
            by_host = lattice
                .client
                .inventory(host.id())
                .await
                .expect("inventory")
                .host
                .rejected;
            if missing(&by_client) >= 100 && missing(&by_host) >= 100 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(missing(&by_client) >= 100, "{by_client:?}");
        assert!(missing(&by_host) >= 100, "{by_host:?}");
        assert!(host.log().contains("rejected"), "the host logged them");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_an_actor_that_runs_nowhere_fails_fast() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let nobody = floe_wire::KeyKind::Actor.generate().public_key();
        let started = Instant::now();
        let err = lattice
            .client
            .call(&nobody, ECHO, b"[\"x\"]".to_vec(), Encoding::Json)
            .await
            .expect_err("nothing runs it");
        let took = started.elapsed();
        assert!(matches!(err, floe_ctl::CtlError::NotFound(_)), "{err}");
        assert!(took < Duration::from_secs(1), "not_found took {took:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_of_several_mib_cross_both_ways_and_the_limit_is_named() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &["--max-call-bytes", "24MiB"]).await;
        let echo = lattice.start(&host, "echo").await;
        // 5 MiB in, 5 MiB out: both far over the server's 1 MiB messages.
        let sent = pattern(5 << 20);
        let result = lattice
            .client
            .call(&echo, REVERSE, bytes_arg(&sent), Encoding::Msgpack)
            .await
            .expect("a 5 MiB call");
        let mut expected = sent.clone();
        expected.reverse();
        let got = bin_value(&result);
        assert_eq!(got.len(), expected.len());
        assert!(got == expected.as_slice(), "reversed byte for byte");
        // Over this host's per-call limit: refused, naming the limit.
        let err = lattice
            .client
            .call(
                &echo,
                REVERSE,
                bytes_arg(&pattern(25 << 20)),
                Encoding::Msgpack,
            )
            .await
            .expect_err("over the limit");
        assert_eq!(
            invocation_kind(&err),
            Some(ErrorKind::BadArguments),
            "{err}"
        );
        assert!(
            err.to_string().contains("per-call limit of 25165824 bytes"),
            "{err}"
        );
        // Small calls are untouched, and nothing was left in the store.
        lattice.assert_echo(&echo, "small").await;
        let left = lattice.payload_objects_left().await;
        assert!(left.is_empty(), "objects left behind: {left:?}");
        // `floe call` with a 5 MiB argument, from a file (JSON: a list of
        // numbers), answered reversed.
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("args.json");
        std::fs::write(&file, serde_json::to_vec(&json!([sent])).expect("json")).expect("write");
        let cli = floe_tests::FloeCli::for_lattice(&lattice.name).expect("cli");
        let path = file.display().to_string();
        let printed = cli.ok(lattice.args(&["call", &echo, REVERSE, "--args-file", &path]));
        let answer: Vec<u8> = serde_json::from_str(printed.trim()).expect("a JSON list of bytes");
        assert!(answer == expected, "the CLI's answer, byte for byte");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolves_without_waiting_out_the_window() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        lattice.start(&host, "echo").await;
        // Once the host has followed heartbeats long enough, it says how
        // many hosts the lattice has.
        let mut known = 0;
        for _ in 0..300 {
            let hosts = lattice
                .client
                .ping_hosts(Duration::from_millis(200))
                .await
                .expect("ping");
            known = hosts.first().map_or(0, |h| h.lattice_hosts);
            if known > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(known, 1, "one host heartbeats");
        // A 10 s window: the name resolves as soon as the one host answered.
        let cli = floe_tests::FloeCli::for_lattice(&lattice.name).expect("cli");
        let started = Instant::now();
        let out = cli.ok([
            "call",
            "echo",
            ECHO,
            "[\"hi\"]",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--window",
            "10s",
        ]);
        assert_eq!(out.trim(), "\"hi\"");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "resolving took {took:?}");
    })
    .await;
}
