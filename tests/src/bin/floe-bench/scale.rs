//! The scale simulation: N host processes on this machine (small pools so
//! they fit), default timing flags, one app with a replica on half of them.
//! Per N: time to converge after the apply, NATS messages per host per
//! second and the leader's CPU while idle and during the apply, and time to
//! converge after a tenth of the hosts (not the leader) are SIGKILLed. The
//! leader's cost should follow what changes, not how many hosts there are.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use floe_tests::{FloeCli, HostOptions, HostProcess, NatsServer, paths};
use floe_wire::app::{APP_ANNOTATION, COMPONENT_ANNOTATION};

use crate::Report;

/// Flags that keep a host small: a few instance slots, little memory.
const SMALL: [&str; 6] = [
    "--max-instances",
    "8",
    "--max-memory-per-instance",
    "16MiB",
    "--idle-after",
    "never",
];

pub async fn measure(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let sizes: &[usize] = if quick { &[4, 8] } else { &[10, 50, 100] };
    for &n in sizes {
        eprintln!("   {n} hosts");
        simulate(n, report).await?;
    }
    Ok(())
}

async fn simulate(n: usize, report: &mut Report) -> anyhow::Result<()> {
    let nats = NatsServer::start().await?;
    let lattice = format!("scale{n}");
    let cache = tempfile::tempdir()?;
    let mut hosts = Vec::new();
    for _ in 0..n {
        hosts.push(
            HostProcess::start(
                nats.url(),
                &lattice,
                HostOptions {
                    args: SMALL.map(str::to_owned).to_vec(),
                    cache_dir: Some(cache.path().to_owned()),
                    ..HostOptions::default()
                },
            )
            .await?,
        );
    }
    let client = floe_tests::client(nats.connect().await?, &lattice, Duration::from_secs(30));
    let cli = FloeCli::for_lattice(&lattice)?;
    let args = |extra: &[&str]| -> Vec<String> {
        extra
            .iter()
            .copied()
            .chain(["--nats-url", nats.url(), "--lattice", &lattice])
            .map(str::to_owned)
            .collect()
    };
    let replicas = n / 2;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("sim.yaml");
    std::fs::write(
        &file,
        format!(
            "name: sim\nversion: 1.0.0\ncomponents:\n  - name: api\n    kind: actor\n    image: {}\n    placement:\n      replicas: {replicas}\n",
            paths::actor("echo")?.display()
        ),
    )?;
    // Let every host be heard, and the leader warm up.
    tokio::time::sleep(Duration::from_secs(4)).await;

    // The leader is known once it writes the status: read every host's CPU.
    let ticks_before: Vec<(String, u64)> = hosts
        .iter()
        .map(|h| Ok((h.id().to_owned(), cpu_ticks(h.pid())?)))
        .collect::<anyhow::Result<_>>()?;
    let applied = Instant::now();
    cli.ok(args(&["app", "apply", file.to_str().context("utf-8")?]));
    let leader = wait_deployed(&cli, &args(&["app", "status", "sim"])).await?;
    let converged = applied.elapsed();
    let leader_pid = hosts
        .iter()
        .find(|h| h.id() == leader)
        .map(HostProcess::pid)
        .context("the leader is one of the hosts")?;
    let leader_before = ticks_before
        .iter()
        .find(|(id, _)| *id == leader)
        .map_or(0, |(_, t)| *t);
    let apply_cpu = ticks_share(cpu_ticks(leader_pid)? - leader_before, converged);

    let window = Duration::from_secs(10);
    let (msgs_before, cpu_before) = (in_msgs(&nats).await?, cpu_ticks(leader_pid)?);
    tokio::time::sleep(window).await;
    let (msgs_after, cpu_after) = (in_msgs(&nats).await?, cpu_ticks(leader_pid)?);
    let per_host = (msgs_after - msgs_before) as f64 / window.as_secs_f64() / n as f64;
    let idle_cpu = ticks_share(cpu_after - cpu_before, window);

    // Lose a tenth of the hosts (at least one), never the leader.
    let lose = (n / 10).max(1);
    let running = running_on(&client).await?;
    let victims: Vec<String> = running
        .iter()
        .filter(|h| **h != leader)
        .take(lose)
        .cloned()
        .collect();
    let killed_at = Instant::now();
    hosts.retain_mut(|h| {
        if victims.iter().any(|v| v == h.id()) {
            h.kill();
            false
        } else {
            true
        }
    });
    loop {
        let now = running_on(&client).await?;
        if now.len() == replicas && !now.iter().any(|h| victims.contains(h)) {
            break;
        }
        anyhow::ensure!(
            killed_at.elapsed() < Duration::from_secs(60),
            "{n} hosts: not healed within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let healed = killed_at.elapsed();
    report.row(
        &format!("scale, {n} hosts: converge after apply ({replicas} replicas)"),
        format!("{:.2} s", converged.as_secs_f64()),
        &format!("leader CPU during it {:.0} % of a core", apply_cpu * 100.0),
    );
    report.row(
        &format!("scale, {n} hosts: NATS messages per host per second, idle"),
        format!("{per_host:.2}"),
        &format!(
            "leader CPU idle {:.1} % of a core; 10 s, default flags",
            idle_cpu * 100.0
        ),
    );
    report.row(
        &format!("scale, {n} hosts: replaced after {lose} SIGKILLed"),
        format!("{:.2} s", healed.as_secs_f64()),
        "heartbeat 1 s, lost after 2 missed",
    );
    drop(hosts);
    Ok(())
}

/// Waits until the app is deployed; returns the leader that says so.
async fn wait_deployed(cli: &FloeCli, status_args: &[String]) -> anyhow::Result<String> {
    let started = Instant::now();
    loop {
        let status = cli.json(status_args);
        if status["status"]["state"] == "deployed" {
            return status["status"]["leader"]
                .as_str()
                .map(str::to_owned)
                .context("a leader wrote the status");
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "not deployed within 120 s: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Hosts running a replica of `sim`/`api`.
async fn running_on(client: &floe_ctl::CtlClient) -> anyhow::Result<Vec<String>> {
    Ok(client
        .inventories(Duration::from_millis(500))
        .await?
        .into_iter()
        .filter(|inv| {
            inv.actors.iter().any(|a| {
                a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some("sim")
                    && a.annotations.get(COMPONENT_ANNOTATION).map(String::as_str) == Some("api")
            })
        })
        .map(|inv| inv.host.host_id)
        .collect())
}

async fn in_msgs(nats: &NatsServer) -> anyhow::Result<u64> {
    nats.varz().await?["in_msgs"]
        .as_u64()
        .context("varz has in_msgs")
}

/// User and system CPU ticks of a process (`/proc/PID/stat` fields 14, 15).
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: fields count after its `)`.
    let rest = stat.rsplit_once(')').context("stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field =
        |i: usize| -> anyhow::Result<u64> { Ok(fields.get(i).context("stat field")?.parse()?) };
    Ok(field(11)? + field(12)?)
}

/// The share of one core `ticks` (at 100 per second) are over `wall`.
fn ticks_share(ticks: u64, wall: Duration) -> f64 {
    ticks as f64 / 100.0 / wall.as_secs_f64().max(1e-3)
}
