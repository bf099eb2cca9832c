//! Real `floe-host` processes for tests, each with its own `$FLOE_HOME`,
//! a known host id, small timing knobs, and its log kept for failures.
//! A host is killed (SIGKILL) and reaped when its handle drops.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use floe_wire::KeyKind;
use floe_wire::control::{CONTROL_VERSION, StartActorRequest};
use tempfile::TempDir;

use crate::paths;

/// A `floe-host` child process.
#[derive(Debug)]
pub struct HostProcess {
    child: Child,
    id: String,
    log: PathBuf,
    _home: TempDir,
}

/// Options for a test host beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    pub labels: Vec<(String, String)>,
    /// Extra command-line flags, e.g. `["--invocation-timeout", "2s"]`.
    pub args: Vec<String>,
    /// Share a compile cache between hosts (a test's hosts compile once).
    pub cache_dir: Option<PathBuf>,
    /// The host's `RUST_LOG` (default `info`).
    pub log_filter: Option<String>,
}

impl HostProcess {
    /// Starts a host on `nats_url`/`lattice` and waits until it answers pings.
    pub async fn start(
        nats_url: &str,
        lattice: &str,
        options: HostOptions,
    ) -> anyhow::Result<Self> {
        let home = tempfile::Builder::new()
            .prefix("floe-host-home-")
            .tempdir()?;
        let key = KeyKind::Host.generate();
        let id = key.public_key();
        let seed = key.seed().context("generated keys have seeds")?;
        let log = home.path().join("host.log");
        let log_file = std::fs::File::create(&log)?;
        let mut cmd = Command::new(paths::bin("floe-host")?);
        cmd.args(["--nats-url", nats_url, "--lattice", lattice])
            .args(["--host-key", &seed])
            .env("FLOE_HOME", home.path())
            .env("RUST_LOG", options.log_filter.as_deref().unwrap_or("info"))
            .env_remove("FLOE_CLUSTER_SEED")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        for (k, v) in &options.labels {
            cmd.args(["--label", &format!("{k}={v}")]);
        }
        if let Some(dir) = &options.cache_dir {
            cmd.arg("--cache-dir").arg(dir);
        }
        // Small timing knobs and pools, unless the test sets its own.
        for (flag, value) in [
            ("--heartbeat", "1s"),
            ("--max-instances", "64"),
            ("--shutdown-timeout", "5s"),
        ] {
            if !options.args.iter().any(|a| a == flag) {
                cmd.args([flag, value]);
            }
        }
        // In the environment, as an operator would pass it (not in argv,
        // where any user's `ps` would show it).
        if !options.args.iter().any(|a| a == "--cluster-seed") {
            cmd.env("FLOE_CLUSTER_SEED", crate::seed_for(lattice));
        }
        cmd.args(&options.args);
        let child = cmd.spawn().context("cannot start floe-host")?;
        let mut host = HostProcess {
            child,
            id,
            log,
            _home: home,
        };
        host.wait_until_serving(nats_url, lattice).await?;
        Ok(host)
    }

    async fn wait_until_serving(&mut self, nats_url: &str, lattice: &str) -> anyhow::Result<()> {
        let nats = async_nats::connect(nats_url).await?;
        let client = crate::client(nats, lattice, Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "floe-host exited with {status} while starting; its log:\n{}",
                    self.log()
                );
            }
            if client.inventory(&self.id).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "floe-host did not answer within 30 s; its log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the host logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a crash would, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn terminate(&self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        Ok(())
    }

    /// Waits for the process to exit on its own.
    pub async fn wait_exit(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!(
                    "floe-host did not exit within {limit:?}; its log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A start request for the component at `path` (a file on the host's machine).
pub fn start_request(path: &std::path::Path, max_concurrent: Option<u32>) -> StartActorRequest {
    StartActorRequest {
        v: CONTROL_VERSION,
        reference: path.display().to_string(),
        max_concurrent,
        annotations: Default::default(),
        config: Default::default(),
        secrets: Default::default(),
        idle_after_ms: None,
        dormant: false,
    }
}
