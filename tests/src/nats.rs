//! Real `nats-server` processes for tests: one server, or a cluster of three
//! with routes, JetStream on, each on free ports in its own temp dir.
//!
//! Servers are killed and reaped when their handle drops, which also happens
//! when a test panics. nextest runs every test in its own process group and
//! kills the group on timeout, so a hung test leaves no server behind either.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a cluster may take to elect a JetStream meta leader.
const CLUSTER_READY_TIMEOUT: Duration = Duration::from_secs(45);

/// The `nats-server` executable: `$NATS_SERVER`, else PATH, else
/// `/usr/sbin/nats-server` (where Debian's package puts it).
pub fn server_executable() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("NATS_SERVER").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file());
    on_path.context(
        "nats-server is not installed: run `make test` (it installs it) or `apt-get install -y nats-server`",
    )
}

/// One running `nats-server` with JetStream.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    url: String,
    port: u16,
    name: String,
    dir: TempDir,
}

impl NatsServer {
    /// Starts a standalone server on a free port and waits until it listens.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("floe-nats-").tempdir()?;
        let name = format!("floe-test-{}", std::process::id());
        let config = base_config(&name, dir.path());
        Self::spawn(dir, name, &config).await
    }

    async fn spawn(dir: TempDir, name: String, config: &str) -> anyhow::Result<Self> {
        let config_path = dir.path().join("nats.conf");
        std::fs::write(&config_path, config)?;
        let log_path = dir.path().join("nats.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(server_executable()?)
            .arg("-c")
            .arg(&config_path)
            .arg("--ports_file_dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start nats-server")?;
        let mut server = NatsServer {
            child,
            url: String::new(),
            port: 0,
            name,
            dir,
        };
        let port = server.wait_for_ports_file().await?;
        server.port = port;
        server.url = format!("nats://127.0.0.1:{port}");
        Ok(server)
    }

    /// Reads the ports file the server writes once it listens.
    async fn wait_for_ports_file(&mut self) -> anyhow::Result<u16> {
        let ports_file = self
            .dir
            .path()
            .join(format!("nats-server_{}.ports", self.child.id()));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "nats-server exited with {status} before listening; its log:\n{}",
                    self.log()
                );
            }
            if let Ok(text) = std::fs::read_to_string(&ports_file)
                && let Some(port) = client_port(&text)
            {
                return Ok(port);
            }
            if Instant::now() > deadline {
                bail!(
                    "nats-server did not listen within {START_TIMEOUT:?}; its log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The server's `/varz` counters (messages in and out, connections…),
    /// from its monitoring endpoint.
    pub async fn varz(&self) -> anyhow::Result<serde_json::Value> {
        let ports_file = self
            .dir
            .path()
            .join(format!("nats-server_{}.ports", self.child.id()));
        let text = std::fs::read_to_string(&ports_file)?;
        let port = monitoring_port(&text).context("the server has no monitoring port")?;
        let answer = crate::http::HttpClient::new()
            .get(&format!("http://127.0.0.1:{port}/varz"))
            .await
            .map_err(|e| anyhow::anyhow!("varz: {e}"))?;
        Ok(serde_json::from_str(&answer.text())?)
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's name (unique within a cluster).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id, so tests can check it is gone after drop.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
    }

    /// A connected client.
    pub async fn connect(&self) -> anyhow::Result<async_nats::Client> {
        async_nats::connect(&self.url)
            .await
            .with_context(|| format!("cannot connect to {}", self.url))
    }

    /// Kills the server now (as a crash would) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three `nats-server`s routed into one cluster with clustered JetStream.
#[derive(Debug)]
pub struct NatsCluster {
    pub servers: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts three routed servers and waits until JetStream answers on each.
    pub async fn start() -> anyhow::Result<Self> {
        let mut last_error = None;
        for _attempt in 0..3 {
            match Self::try_start().await {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("cluster did not start")))
    }

    async fn try_start() -> anyhow::Result<Self> {
        let route_ports = free_ports(3)?;
        let cluster_name = format!("floe-test-{}", std::process::id());
        let mut servers = Vec::new();
        for (i, port) in route_ports.iter().enumerate() {
            let dir = tempfile::Builder::new().prefix("floe-nats-").tempdir()?;
            let name = format!("{cluster_name}-{i}");
            let mut config = base_config(&name, dir.path());
            let routes: Vec<String> = route_ports
                .iter()
                .filter(|p| *p != port)
                .map(|p| format!("\"nats-route://127.0.0.1:{p}\""))
                .collect();
            writeln!(
                config,
                "cluster {{\n  name: \"{cluster_name}\"\n  listen: \"127.0.0.1:{port}\"\n  routes: [{}]\n}}",
                routes.join(", ")
            )?;
            servers.push(NatsServer::spawn(dir, name, &config).await?);
        }
        let cluster = NatsCluster { servers };
        cluster.wait_for_jetstream().await?;
        Ok(cluster)
    }

    /// The client URLs of every server, comma-separated, for clients that
    /// should fail over between them.
    pub fn urls(&self) -> String {
        self.servers
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    async fn wait_for_jetstream(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + CLUSTER_READY_TIMEOUT;
        for server in &self.servers {
            let client = server.connect().await?;
            loop {
                if jetstream_ready(&client).await {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "JetStream did not become ready on {} within {CLUSTER_READY_TIMEOUT:?}; its log:\n{}",
                        server.name(),
                        server.log()
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }
}

/// True when `$JS.API.INFO` answers without an error (a meta leader exists).
async fn jetstream_ready(client: &async_nats::Client) -> bool {
    let request = client.request("$JS.API.INFO", Vec::new().into());
    let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_secs(1), request).await else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&reply.payload)
        .is_ok_and(|v| v.get("error").is_none())
}

fn base_config(name: &str, dir: &Path) -> String {
    format!(
        "server_name: \"{name}\"\nlisten: \"127.0.0.1:-1\"\nhttp: \"127.0.0.1:-1\"\njetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 256MB\n  max_file_store: 1GB\n}}\n",
        dir.join("jetstream").display()
    )
}

/// The client port from a ports file (`{"nats": ["nats://127.0.0.1:PORT"], …}`).
fn client_port(ports_file: &str) -> Option<u16> {
    let value: serde_json::Value = serde_json::from_str(ports_file).ok()?;
    let url = value.get("nats")?.as_array()?.first()?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

/// The monitoring port from a ports file (`{"monitoring": ["http://…:PORT"]}`).
fn monitoring_port(ports_file: &str) -> Option<u16> {
    let value: serde_json::Value = serde_json::from_str(ports_file).ok()?;
    let url = value.get("monitoring")?.as_array()?.first()?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

/// Ports free right now (the listeners are closed before returning).
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}
