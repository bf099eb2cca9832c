//! Control refusals carry a stable code (docs/protocol.md, "Refusals"), and
//! the `floe` CLI turns each into its documented exit status
//! (docs/cli.md, "Exit statuses").

use std::time::Duration;

use floe_ctl::CtlError;
use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::control::ControlCode;

use crate::lattice::{Lattice, start_request};

const LIMIT: Duration = Duration::from_secs(60);

fn code_of(result: Result<impl std::fmt::Debug, CtlError>) -> (ControlCode, String) {
    match result {
        Err(CtlError::Refused(refusal)) => (refusal.code, refusal.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_codes_and_the_cli_exits_by_them() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let client = &lattice.client;

        let missing = dir.path().join("missing.wasm");
        let (code, message) = code_of(
            client
                .start_actor(host.id(), start_request(&missing, None))
                .await,
        );
        assert_eq!(code, ControlCode::NoArtifact, "{message}");
        assert!(message.contains("does not exist"), "{message}");

        let garbage = dir.path().join("garbage.wasm");
        std::fs::write(&garbage, b"\0asm\x01\0\0\0 not a component").expect("write");
        let (code, message) = code_of(
            client
                .start_actor(host.id(), start_request(&garbage, None))
                .await,
        );
        assert_eq!(code, ControlCode::InvalidArtifact, "{message}");

        let (code, message) = code_of(client.stop_actor(host.id(), "MNOSUCHACTOR").await);
        assert_eq!(code, ControlCode::NotFound, "{message}");

        let echo = lattice.start(&host, "echo").await;
        let (code, message) = code_of(client.scale_actor(host.id(), &echo, 0).await);
        assert_eq!(code, ControlCode::BadRequest, "{message}");

        // The CLI: the message on stderr, the code as the exit status.
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let base = ["--nats-url", lattice.nats.url(), "--lattice", &lattice.name];
        let run = |extra: &[&str]| {
            let args: Vec<&str> = extra.iter().chain(base.iter()).copied().collect();
            cli.run(args)
        };
        let missing = missing.to_str().expect("utf8");
        let out = run(&["start", "actor", missing, "--host", host.id()]);
        assert_eq!(out.code, Some(3), "a missing file exits 3: {}", out.stderr);
        assert!(out.stderr.contains("cannot find"), "{}", out.stderr);
        let garbage = garbage.to_str().expect("utf8");
        let out = run(&["start", "actor", garbage, "--host", host.id()]);
        assert_eq!(
            out.code,
            Some(4),
            "invalid_artifact exits 4: {}",
            out.stderr
        );
        let out = run(&[
            "scale",
            "actor",
            &echo,
            "--max-concurrent",
            "0",
            "--host",
            host.id(),
        ]);
        assert_eq!(out.code, Some(2), "bad_request exits 2: {}", out.stderr);
        let out = run(&["call", "MNOSUCHACTOR", "floe:examples/echo.echo", "[\"x\"]"]);
        assert_eq!(out.code, Some(3), "not_found exits 3: {}", out.stderr);
        let out = run(&["stop", "actor", "nosuchactor"]);
        assert_eq!(
            out.code,
            Some(3),
            "no host runs it: exits 3: {}",
            out.stderr
        );
        let echo_path = paths::actor("echo").expect("echo");
        let out = run(&[
            "start",
            "actor",
            echo_path.to_str().expect("utf8"),
            "--host",
            host.id(),
        ]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
    })
    .await;
}
