//! `floe up` and `floe down`: a working lattice on this machine in one
//! command. `up` uses the NATS that answers at the URL, or starts
//! `nats-server` (JetStream, data under `$FLOE_HOME/up/nats`), then a
//! `floe-host` sharing `floe`'s cluster seed, waits until the host answers,
//! and says how to reach it. In the foreground Ctrl-C stops what it
//! started; with `--detach` it leaves them running and `floe down` stops
//! them (host first, then the NATS server it started). What runs is kept in
//! `$FLOE_HOME/up/state.json`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use floe_wire::{FloeHome, KeyKind};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::up_state::{
    UpState, alive, read_state, start_time, state_path, still_ours, terminate, up_dir,
};
use crate::args::GlobalArgs;
use crate::output;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Start (or use) NATS on 127.0.0.1:PORT instead of --nats-url.
    #[arg(long)]
    pub port: Option<u16>,
    /// Leave it running in the background; `floe down` stops it.
    #[arg(long)]
    pub detach: bool,
}

/// How long a stopping process may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// How long `up` waits for NATS, then for the host, to answer.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// `host:port` of a `nats://` URL.
fn address_of(url: &str) -> anyhow::Result<(String, u16)> {
    // The first server of a list; `tls://` as well as `nats://`.
    let first = url.split(',').next().unwrap_or(url).trim();
    let rest = first
        .strip_prefix("nats://")
        .or_else(|| first.strip_prefix("tls://"))
        .unwrap_or(first);
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    let (host, port) = rest
        .rsplit_once(':')
        .map_or((rest, "4222"), |(h, p)| (h, p));
    let port = port
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("`{url}` has no valid port (use nats://HOST:PORT)"))?;
    Ok((host.to_owned(), port))
}

async fn answers(host: &str, port: u16) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect((host, port))
        )
        .await,
        Ok(Ok(_))
    )
}

/// An executable: the variable's path, else next to `floe`, else on PATH,
/// else the given fallbacks.
fn find_executable(name: &str, variable: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    };
    beside
        .or_else(on_path)
        .or_else(|| fallbacks.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// One log file for a child's stdout and stderr.
fn log_file(path: &Path) -> anyhow::Result<(std::fs::File, std::fs::File)> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let twin = file
        .try_clone()
        .with_context(|| format!("cannot share {}", path.display()))?;
    Ok((file, twin))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

pub async fn up(global: &GlobalArgs, args: &UpArgs, home: &FloeHome) -> anyhow::Result<()> {
    if let Some(state) = read_state(home)?
        && still_ours(state.host_pid, state.host_started)
    {
        bail!(
            "a lattice is already up here (host {} with PID {}): `floe down` stops it",
            state.host_id,
            state.host_pid
        );
    }
    let nats_url = match args.port {
        Some(port) => format!("nats://127.0.0.1:{port}"),
        None => global.nats_url.clone(),
    };
    let (nats_host, nats_port) = address_of(&nats_url)?;
    let dir = up_dir(home);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Signals are watched from the start: Ctrl-C while NATS or the host
    // is starting stops what has started (they run in their own process
    // groups, so nothing else would).
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot watch for Ctrl-C")?;
    let mut started = Started::default();
    let result = tokio::select! {
        result = start(global, &nats_url, &nats_host, nats_port, &dir, &mut started) => result,
        _ = terminate.recv() => Err(anyhow::anyhow!("stopped while starting")),
        _ = interrupt.recv() => Err(anyhow::anyhow!("interrupted while starting")),
    };
    let state = match result {
        Ok(state) => state,
        Err(e) => {
            started.stop().await;
            return Err(e);
        }
    };
    std::fs::write(state_path(home), serde_json::to_vec_pretty(&state)?)
        .with_context(|| format!("cannot write {}", state_path(home).display()))?;
    report(global, &state, args.detach)?;
    if args.detach {
        started.release();
        return Ok(());
    }
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
        exit = started.host_exit() => {
            eprintln!("floe-host exited ({exit}); see {}", state.logs.join("host.log").display());
        }
    }
    eprintln!("Stopping what `floe up` started…");
    started.stop().await;
    let _ = std::fs::remove_file(state_path(home));
    eprintln!("Stopped.");
    Ok(())
}

/// The children `up` started, stopped in reverse order.
#[derive(Default)]
struct Started {
    nats: Option<tokio::process::Child>,
    host: Option<tokio::process::Child>,
}

impl Started {
    async fn host_exit(&mut self) -> String {
        match self.host.as_mut() {
            Some(child) => child
                .wait()
                .await
                .map_or_else(|e| e.to_string(), |s| s.to_string()),
            None => std::future::pending().await,
        }
    }

    async fn stop(&mut self) {
        for child in [self.host.take(), self.nats.take()].into_iter().flatten() {
            stop_child(child).await;
        }
    }

    /// Leaves the children running after `floe` exits (`--detach`).
    fn release(&mut self) {
        self.host = None;
        self.nats = None;
    }
}

async fn stop_child(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = terminate(pid);
    }
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Starts `nats-server` (JetStream, data under `dir`) on this machine and
/// waits until it answers; its pid.
async fn start_nats(
    nats_url: &str,
    nats_host: &str,
    nats_port: u16,
    dir: &Path,
    started: &mut Started,
) -> anyhow::Result<Option<u32>> {
    if !matches!(nats_host, "127.0.0.1" | "localhost") {
        bail!(
            "no NATS server answers at {nats_url}, and `floe up` only starts one on this machine: \
             start it there, or use `floe up --port PORT` for a local one"
        );
    }
    let server = find_executable(
        "nats-server",
        "FLOE_NATS_SERVER",
        &[
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            "/usr/local/bin/nats-server",
        ],
    )
    .context(
        "nats-server is not installed: `apt-get install -y nats-server` (or set FLOE_NATS_SERVER to its path)",
    )?;
    let log = dir.join("nats.log");
    let (out, err) = log_file(&log)?;
    let child = tokio::process::Command::new(&server)
        .args(["-js", "-a", nats_host, "-p", &nats_port.to_string(), "-sd"])
        .arg(dir.join("nats"))
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", server.display()))?;
    let pid = child.id();
    started.nats = Some(child);
    let since = Instant::now();
    while !answers(nats_host, nats_port).await {
        if since.elapsed() > READY_WITHIN {
            bail!(
                "nats-server did not answer on {nats_url} within {READY_WITHIN:?}; its log:\n{}",
                tail(&log)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "Started nats-server (JetStream) on {nats_url}, data in {}",
        dir.join("nats").display()
    );
    Ok(pid)
}

async fn start(
    global: &GlobalArgs,
    nats_url: &str,
    nats_host: &str,
    nats_port: u16,
    dir: &Path,
    started: &mut Started,
) -> anyhow::Result<UpState> {
    let nats_pid = if answers(nats_host, nats_port).await {
        eprintln!("Using the NATS server at {nats_url}");
        None
    } else {
        start_nats(nats_url, nats_host, nats_port, dir, started).await?
    };
    let host_bin = find_executable("floe-host", "FLOE_HOST_BIN", &[]).context(
        "floe-host is not installed next to floe or on PATH (build it with `make build`, or set FLOE_HOST_BIN)",
    )?;
    let key = KeyKind::Host.generate();
    let host_id = key.public_key();
    let host_seed = key.seed().context("a generated key has a seed")?;
    let log = dir.join("host.log");
    let (out, err) = log_file(&log)?;
    let mut command = tokio::process::Command::new(&host_bin);
    command
        .args(["--nats-url", nats_url, "--lattice", global.lattice.as_str()])
        .env("FLOE_HOST_KEY", &host_seed)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    // The host shares floe's seed: the one given to floe, else the one
    // saved in the same $FLOE_HOME (which the host creates when missing).
    if let Some(seed) = &global.cluster_seed {
        command.env("FLOE_CLUSTER_SEED", seed);
    }
    if let Some(creds) = &global.creds {
        command.env("FLOE_CREDS", creds);
    }
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {}", host_bin.display()))?;
    let host_pid = child.id().unwrap_or_default();
    started.host = Some(child);
    let waiting = output::Waiting::new(global.output, "Waiting for floe-host to answer…");
    let client = wait_for_host(global, nats_url, &host_id, &log, started).await?;
    drop(waiting);
    drop(client);
    Ok(UpState {
        nats_url: nats_url.to_owned(),
        lattice: global.lattice.to_string(),
        host_id,
        host_started: start_time(host_pid),
        host_pid,
        nats_started: nats_pid.and_then(start_time),
        nats_pid,
        logs: dir.to_owned(),
    })
}

async fn wait_for_host(
    global: &GlobalArgs,
    nats_url: &str,
    host_id: &str,
    log: &Path,
    started: &mut Started,
) -> anyhow::Result<floe_ctl::CtlClient> {
    let since = Instant::now();
    loop {
        if let Some(child) = started.host.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            bail!("floe-host exited ({status}); its log:\n{}", tail(log));
        }
        // The seed may only now exist (the host generates it on first start).
        let client = floe_ctl::CtlClient::connect(&floe_ctl::ClientOptions {
            nats_url: nats_url.to_owned(),
            lattice: global.lattice.clone(),
            creds: global.creds.clone(),
            cluster_seed: global.cluster_seed.clone(),
            timeout: global.timeout,
        })
        .await;
        if let Ok(client) = client
            && let Ok(hosts) = client.ping_hosts(Duration::from_millis(300)).await
            && hosts.iter().any(|h| h.host_id == host_id)
        {
            return Ok(client);
        }
        if since.elapsed() > READY_WITHIN {
            bail!(
                "floe-host did not answer within {READY_WITHIN:?}; its log:\n{}",
                tail(log)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report(global: &GlobalArgs, state: &UpState, detach: bool) -> anyhow::Result<()> {
    if !global.output.is_text() {
        return output::print_data(global.output, state);
    }
    println!("The lattice `{}` is up.", state.lattice);
    println!("  NATS:  {}", state.nats_url);
    println!("  host:  {} (PID {})", state.host_id, state.host_pid);
    println!("  logs:  {}", state.logs.display());
    println!();
    println!("Try: floe get hosts --nats-url {}", state.nats_url);
    if detach {
        println!("`floe down` stops it.");
    } else {
        println!("Ctrl-C stops it.");
    }
    Ok(())
}

pub async fn down(global: &GlobalArgs, home: &FloeHome) -> anyhow::Result<()> {
    let Some(state) = read_state(home)? else {
        if global.output.is_text() {
            println!(
                "Nothing to stop: `floe up` is not running from {}.",
                home.root().display()
            );
            return Ok(());
        }
        return output::print_data(global.output, &serde_json::json!({"stopped": []}));
    };
    let mut stopped = Vec::new();
    let processes = [
        ("floe-host", Some(state.host_pid), state.host_started),
        ("nats-server", state.nats_pid, state.nats_started),
    ];
    for (what, pid, started) in processes {
        let Some(pid) = pid.filter(|p| still_ours(*p, started)) else {
            continue;
        };
        terminate(pid).with_context(|| format!("cannot stop {what} (PID {pid})"))?;
        let since = Instant::now();
        while alive(pid) && since.elapsed() < STOP_GRACE {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if alive(pid)
            && let Ok(raw) = i32::try_from(pid)
        {
            let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
        }
        stopped.push(serde_json::json!({"process": what, "pid": pid}));
    }
    std::fs::remove_file(state_path(home))
        .with_context(|| format!("cannot remove {}", state_path(home).display()))?;
    if global.output.is_text() {
        println!(
            "Stopped {} process(es) that `floe up` started.",
            stopped.len()
        );
        Ok(())
    } else {
        output::print_data(global.output, &serde_json::json!({"stopped": stopped}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_urls_give_their_address() {
        assert_eq!(
            address_of("nats://127.0.0.1:4333").expect("ok"),
            ("127.0.0.1".to_owned(), 4333)
        );
        assert_eq!(
            address_of("nats://user:pw@10.0.0.5:4222").expect("ok"),
            ("10.0.0.5".to_owned(), 4222)
        );
        assert_eq!(
            address_of("nats://localhost").expect("ok"),
            ("localhost".to_owned(), 4222)
        );
        assert_eq!(
            address_of("tls://a:4333,nats://b:4222").expect("ok"),
            ("a".to_owned(), 4333)
        );
        assert!(address_of("nats://h:port").is_err());
    }
}
