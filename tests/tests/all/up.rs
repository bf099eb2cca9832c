//! `floe up` / `floe down` on a machine with no NATS running on the chosen
//! port: NATS and a host start, `floe get hosts` sees the host, and
//! `floe down` (or Ctrl-C in the foreground) leaves no process behind.

use std::time::{Duration, Instant};

use floe_tests::http::free_port;
use floe_tests::{FloeCli, paths, with_timeout};

/// Running, and not a zombie waiting for its reaper.
fn running(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Runs `floe down` when dropped, so a failing test leaves nothing running.
struct Down<'a>(&'a FloeCli);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(["down"]);
    }
}

fn state(cli: &FloeCli) -> serde_json::Value {
    let text = std::fs::read_to_string(cli.home().join("up/state.json")).expect("state");
    serde_json::from_str(&text).expect("state JSON")
}

async fn closed(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_detached_then_down_leaves_nothing_behind() {
    with_timeout(Duration::from_secs(100), async {
        let cli = FloeCli::new().expect("cli");
        let _down = Down(&cli);
        let port = free_port();
        let url = format!("nats://127.0.0.1:{port}");
        let up = cli.run(["up", "--detach", "--port", &port.to_string()]);
        assert!(up.success, "{}\n{}", up.stdout, up.stderr);
        assert!(up.stdout.contains("is up"), "{}", up.stdout);
        let state = state(&cli);
        let (host_pid, nats_pid) = (
            state["host_pid"].as_u64().expect("host pid"),
            state["nats_pid"].as_u64().expect("nats started"),
        );
        assert!(running(host_pid) && running(nats_pid));
        // The CLI shares the host's seed through $FLOE_HOME.
        let hosts = cli.json(["get", "hosts", "--nats-url", &url, "--window", "300ms"]);
        assert_eq!(hosts.as_array().map(Vec::len), Some(1), "{hosts}");
        assert_eq!(hosts[0]["host_id"], state["host_id"]);
        let again = cli.run(["up", "--detach", "--port", &port.to_string()]);
        assert!(!again.success);
        assert!(again.stderr.contains("already up"), "{}", again.stderr);

        let down = cli.run(["down"]);
        assert!(down.success, "{}", down.stderr);
        assert!(down.stdout.contains("Stopped 2"), "{}", down.stdout);
        assert!(!running(host_pid), "floe-host {host_pid} still runs");
        assert!(!running(nats_pid), "nats-server {nats_pid} still runs");
        assert!(closed(port).await);
        assert!(!cli.home().join("up/state.json").exists());
        let nothing = cli.ok(["down"]);
        assert!(nothing.contains("Nothing to stop"), "{nothing}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_in_the_foreground_stops_everything_on_ctrl_c() {
    with_timeout(Duration::from_secs(100), async {
        let cli = FloeCli::new().expect("cli");
        let _down = Down(&cli);
        let port = free_port();
        let printed = cli.home().join("up.out");
        let mut up = std::process::Command::new(paths::bin("floe").expect("floe"))
            .args(["up", "--port", &port.to_string()])
            .env("FLOE_HOME", cli.home())
            .env_remove("FLOE_CLUSTER_SEED")
            .stdout(std::fs::File::create(&printed).expect("out"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("floe up starts");
        let since = Instant::now();
        // Up once it says so (its state is written just before).
        while !std::fs::read_to_string(&printed).is_ok_and(|t| t.contains("Ctrl-C stops it")) {
            assert!(
                since.elapsed() < Duration::from_secs(60),
                "floe up never came up"
            );
            assert!(up.try_wait().expect("wait").is_none(), "floe up exited");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let state = state(&cli);
        let (host_pid, nats_pid) = (
            state["host_pid"].as_u64().expect("host pid"),
            state["nats_pid"].as_u64().expect("nats started"),
        );
        let interrupted = std::process::Command::new("kill")
            .args(["-INT", &up.id().to_string()])
            .status()
            .expect("kill");
        assert!(interrupted.success());
        let since = Instant::now();
        let status = loop {
            if let Some(status) = up.try_wait().expect("wait") {
                break status;
            }
            assert!(
                since.elapsed() < Duration::from_secs(40),
                "floe up did not stop"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(status.success(), "{status}");
        assert!(!running(host_pid) && !running(nats_pid));
        assert!(closed(port).await);
        assert!(!cli.home().join("up/state.json").exists());
    })
    .await;
}
