//! A host whose NATS is unreachable: it says which URL it cannot reach and
//! gives up after `--connect-timeout`; a SIGTERM while it waits ends it at
//! once, cleanly.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use floe_tests::{paths, with_timeout};

fn host(url: &str, timeout: &str, home: &std::path::Path) -> Command {
    let mut cmd = Command::new(paths::bin("floe-host").expect("built"));
    cmd.args(["--nats-url", url, "--connect-timeout", timeout])
        .env("FLOE_HOME", home)
        .env("FLOE_CLUSTER_SEED", floe_tests::seed_for("unreachable"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_nats_is_named_and_a_stop_while_waiting_is_clean() {
    with_timeout(Duration::from_secs(60), async {
        let home = tempfile::tempdir().expect("home");
        // Nothing listens on a free port.
        let url = format!("nats://127.0.0.1:{}", floe_tests::http::free_port());
        let started = Instant::now();
        let out = host(&url, "1s", home.path()).output().expect("runs");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("cannot reach NATS at {url}"))
                && stderr.contains("--connect-timeout"),
            "{stderr}"
        );
        assert!(!stderr.contains("JetStream"), "no JetStream hint: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(20), "bounded");

        // Waiting (for up to an hour), it stops at once on SIGTERM.
        let mut child = host(&url, "1h", home.path()).spawn().expect("spawns");
        let mut stderr = child.stderr.take().expect("stderr");
        let (said, saying) = std::sync::mpsc::channel();
        // Read to the end (a closed pipe would fail the host's own writes).
        let reader = std::thread::spawn(move || {
            use std::io::Read as _;
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            let mut told = false;
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if !told && String::from_utf8_lossy(&seen).contains("cannot reach NATS yet") {
                    told = true;
                    let _ = said.send(());
                }
            }
            String::from_utf8_lossy(&seen).into_owned()
        });
        let waiting = tokio::task::spawn_blocking(move || saying.recv().is_ok());
        assert!(waiting.await.expect("reader"), "it says it keeps trying");
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(term.success());
        let stopped = Instant::now();
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("waiter")
            .expect("exit status");
        let log = reader.join().expect("reader");
        assert!(status.success(), "a clean stop: {status}\n{log}");
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "stopped in {:?}",
            stopped.elapsed()
        );
    })
    .await;
}
