//! The README's demo, as a user runs it: `scripts/up.sh` (behind `make up`)
//! runs `floe up` (nats-server, a host), both providers and kv-counter with
//! its links; `curl …/counter/a` twice answers 1 then 2; SIGTERM runs
//! `floe down`, which stops all of it.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use floe_tests::http::{HttpClient, free_port};
use floe_tests::with_timeout;

/// The script's whole process group, terminated when dropped (also when
/// the test fails), and what its `floe up --detach` started.
struct Group(Child, std::path::PathBuf);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
        if let Ok(floe) = floe_tests::paths::bin("floe") {
            let _ = Command::new(floe)
                .arg("down")
                .env("FLOE_HOME", &self.1)
                .output();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_up_serves_the_kv_counter_and_stops_on_sigterm() {
    with_timeout(Duration::from_secs(100), async {
        let home = tempfile::tempdir().expect("home");
        let (nats_port, http_port) = (free_port(), free_port());
        let log = home.path().join("up.log");
        let script = floe_tests::paths::workspace_root().join("scripts/up.sh");
        let mut up = Group(
            Command::new("bash")
                .arg(&script)
                .env("FLOE_HOME", home.path())
                .env("FLOE_NATS_URL", format!("nats://127.0.0.1:{nats_port}"))
                .env("FLOE_HTTP_ADDRESS", format!("127.0.0.1:{http_port}"))
                .env("FLOE_LATTICE", "demo")
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).expect("log"))
                .stderr(std::fs::File::create(home.path().join("up.err")).expect("log"))
                .process_group(0)
                .spawn()
                .expect("up.sh starts"),
            home.path().to_owned(),
        );
        let output = || {
            format!(
                "{}{}",
                std::fs::read_to_string(&log).unwrap_or_default(),
                std::fs::read_to_string(home.path().join("up.err")).unwrap_or_default()
            )
        };
        let started = Instant::now();
        while !output().contains("The lattice is up") {
            assert!(
                up.0.try_wait().expect("wait").is_none(),
                "up.sh exited:\n{}",
                output()
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "up.sh never came up:\n{}",
                output()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let url = format!("http://127.0.0.1:{http_port}/counter/a");
        assert!(output().contains(&format!("curl {url}")), "{}", output());
        let client = HttpClient::new();
        for expected in ["1\n", "2\n"] {
            let answer = client.get(&url).await.expect("answered");
            assert_eq!(
                (answer.status, answer.text().as_str()),
                (200, expected),
                "{}",
                output()
            );
        }

        let _ = Command::new("kill")
            .args(["-TERM", &up.0.id().to_string()])
            .status();
        let started = Instant::now();
        while up.0.try_wait().expect("wait").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "up.sh did not stop"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            output().contains("Stopped 2 process(es)"),
            "floe down stopped the host and NATS: {}",
            output()
        );
        for port in [nats_port, http_port] {
            assert!(
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_err(),
                "port {port} still open after make up stopped"
            );
        }
    })
    .await;
}
