//! Artifacts in the lattice: `floe push` stores a signed component by
//! digest (and tag); hosts that never saw the file start it from
//! `floe://sha256:…` or `floe://NAME:TAG`; unsigned or tampered files are
//! not pushed, unknown references fail with "no artifact", and a stored
//! blob with one byte flipped is detected by its digest and not run.

use std::time::Duration;

use floe_tests::{FloeCli, paths, with_timeout};

use crate::lattice::Lattice;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_actors_start_anywhere_and_corruption_is_caught() {
    with_timeout(Duration::from_secs(100), async {
        let lattice = Lattice::new().await;
        let a = lattice.host(&[], &[]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let with = |extra: &[&str]| lattice.args(extra);
        let echo = paths::actor("echo").expect("echo");
        let echo = echo.to_str().expect("utf8");
        let pushed = cli.json(with(&["push", echo, "--name", "echo:v1"]));
        let digest = pushed["digest"].as_str().expect("digest").to_owned();
        let by_digest = pushed["reference"].as_str().expect("ref").to_owned();
        assert_eq!(by_digest, format!("floe://sha256:{digest}"));
        assert_eq!(pushed["tag_reference"], "floe://echo:v1");

        // Started from the lattice, not from a file.
        let started = cli.json(with(&["start", "actor", &by_digest, "--host", a.id()]));
        assert_eq!(started["name"], "echo", "{started}");
        let actor = started["actor_id"].as_str().expect("id").to_owned();
        lattice.assert_echo(&actor, "from the object store").await;
        let b = lattice.host(&[], &[]).await;
        let again = cli.json(with(&[
            "start",
            "actor",
            "floe://echo:v1",
            "--host",
            b.id(),
        ]));
        assert_eq!(again["actor_id"], actor.as_str());

        // Pushing again is idempotent; piped, no spinner reaches stderr.
        let text = cli.run(with(&["push", echo]));
        assert!(text.success, "{}", text.stderr);
        assert!(
            text.stdout.contains(&format!("as {by_digest}")),
            "{}",
            text.stdout
        );
        assert_eq!(text.stderr, "", "nothing but the result when piped");
        let listed = cli.json(with(&["get", "artifacts"]));
        assert_eq!(listed[0]["digest"], digest.as_str(), "{listed}");
        assert_eq!(listed[0]["tags"], serde_json::json!(["echo:v1"]));

        // Only signed, untampered components are pushed.
        let unsigned = paths::workspace_root().join("target/guest/wasm32-wasip2/release/echo.wasm");
        let refused = cli.run(with(&["push", unsigned.to_str().expect("utf8")]));
        assert!(!refused.success);
        assert!(refused.stderr.contains("only signed"), "{}", refused.stderr);
        let mut tampered = std::fs::read(echo).expect("echo");
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        let dir = tempfile::tempdir().expect("dir");
        let tampered_path = dir.path().join("tampered.wasm");
        std::fs::write(&tampered_path, &tampered).expect("write");
        let refused = cli.run(with(&["push", tampered_path.to_str().expect("utf8")]));
        assert!(!refused.success, "{}", refused.stdout);

        // References that name nothing.
        let zeros = format!("floe://sha256:{}", "0".repeat(64));
        for missing in [zeros.as_str(), "floe://nope:v1"] {
            let failed = cli.run(with(&["start", "actor", missing, "--host", a.id()]));
            assert!(!failed.success);
            assert!(
                failed.stderr.contains("no artifact"),
                "{missing}: {}",
                failed.stderr
            );
        }

        // One byte of the stored blob flipped: a host that has not cached it
        // refuses it by its digest.
        let conn = lattice.nats.connect().await.expect("connect");
        let store = floe_lattice::artifacts::open_store(&conn, lattice.client.lattice())
            .await
            .expect("store");
        let mut blob = std::fs::read(echo).expect("echo");
        blob[100] ^= 0x01;
        store
            .put(
                floe_wire::artifact::object_name(&digest).as_str(),
                &mut blob.as_slice(),
            )
            .await
            .expect("replace the blob");
        let c = lattice.host(&[], &[]).await;
        let corrupt = cli.run(with(&["start", "actor", &by_digest, "--host", c.id()]));
        assert!(!corrupt.success);
        assert!(corrupt.stderr.contains("corrupt"), "{}", corrupt.stderr);
        // A host that cached the good bytes still runs them.
        lattice.assert_echo(&actor, "still served").await;
    })
    .await;
}
