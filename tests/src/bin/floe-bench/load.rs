//! Figures through NATS against a real `floe-host` process, next to raw NATS
//! request/reply with the same payload; then start times and memory.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use floe_ctl::CtlClient;
use floe_tests::{HostProcess, NatsServer, start_request};
use floe_wire::envelope::Origin;
use floe_wire::{Encoding, Envelope, KeyKind};

use crate::inhost::payload;
use crate::stats::percentile;
use crate::{Report, variants};

pub const OP: &str = "floe:examples/echo.echo";

/// Raw NATS request/reply figures of the run, for other sections' ratios.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    pub raw_p50: Duration,
    pub raw_rate: f64,
}

pub async fn measure(
    nats: &NatsServer,
    lattice: &str,
    host: &HostProcess,
    echo: &[u8],
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<Baseline> {
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(10));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("echo.wasm");
    std::fs::write(&path, echo)?;
    let actor = client
        .start_actor(host.id(), start_request(&path, None))
        .await?
        .actor_id;

    // Raw NATS: a responder process echoing an envelope-sized payload.
    let raw_subject = "bench.raw";
    let mut responder = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--responder", nats.url(), raw_subject])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    wait_ready(&mut responder).await?;
    let raw = nats.connect().await?;
    let body = envelope_bytes(&actor);

    let n = if quick { 1_000 } else { 5_000 };
    let floe_call = |c: CtlClient, a: String| async move {
        c.call(&a, OP, payload(), Encoding::Msgpack)
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let raw_call = |c: async_nats::Client, b: Vec<u8>| async move {
        c.request(raw_subject, b.into())
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    };

    // Each figure several times, interleaved with its baseline (A B A B …):
    // the machine is shared and one run can be off by 2×. Medians with
    // their min–max; ratios are taken round by round.
    let rounds = if quick { 3 } else { 5 };
    let per_round = n / rounds;
    let (mut floe_lat, mut raw_lat) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        floe_lat.push(latency(per_round, || floe_call(client.clone(), actor.clone())).await?);
        raw_lat.push(latency(per_round, || raw_call(raw.clone(), body.clone())).await?);
    }
    let lat_ratio: Vec<f64> = floe_lat
        .iter()
        .zip(&raw_lat)
        .map(|(f, r)| f.as_secs_f64() / r.as_secs_f64())
        .collect();
    let secs_of = |d: &[Duration]| d.iter().map(|d| d.as_secs_f64() * 1e6).collect::<Vec<_>>();
    report.row(
        "call p50 through NATS, 1 in flight: Floe",
        spread(&secs_of(&floe_lat), "µs", 1),
        &format!("{rounds} rounds of {per_round} calls, 100-byte string; median (min–max)"),
    );
    report.row(
        "call p50 through NATS, 1 in flight: raw NATS",
        spread(&secs_of(&raw_lat), "µs", 1),
        "same payload size, responder in its own process, interleaved",
    );
    report.row(
        "latency ratio Floe / raw",
        spread(&lat_ratio, "×", 2),
        "per round; target ≤ 1.2×",
    );

    let secs = if quick { 2 } else { 3 };
    let (mut floe_tp, mut raw_tp) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        floe_tp.push(throughput(256, secs, || floe_call(client.clone(), actor.clone())).await?);
        raw_tp.push(throughput(256, secs, || raw_call(raw.clone(), body.clone())).await?);
    }
    let tp_ratio: Vec<f64> = floe_tp.iter().zip(&raw_tp).map(|(f, r)| f / r).collect();
    report.row(
        "throughput, 256 in flight: Floe",
        spread(&floe_tp, "req/s", 0),
        &format!("{rounds} rounds of {secs} s, fresh instance per call; median (min–max)"),
    );
    report.row(
        "throughput, 256 in flight: raw NATS",
        spread(&raw_tp, "req/s", 0),
        "same payload size, interleaved",
    );
    report.row(
        "throughput ratio Floe / raw",
        spread(&tp_ratio, "×", 2),
        "per round; target ≥ 0.5×",
    );
    let raw_p50 = median_duration(&raw_lat);
    let raw_rate = median(&raw_tp);
    client.stop_actor(host.id(), &actor).await?;
    Ok(Baseline { raw_p50, raw_rate })
}

pub async fn starts_and_memory(
    nats: &NatsServer,
    lattice: &str,
    host: &HostProcess,
    echo: &[u8],
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<()> {
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(60));
    let dir = tempfile::tempdir()?;
    let issuer = KeyKind::Account.generate();

    // Start to first call, uncached (new code) and cached (same code again).
    let (id, bytes) = variants::sign_new(echo, &issuer, true)?;
    let path = dir.path().join("uncached.wasm");
    std::fs::write(&path, bytes)?;
    let uncached = start_to_first_call(&client, host, &path, &id).await?;
    client.stop_actor(host.id(), &id).await?;
    let cached = start_to_first_call(&client, host, &path, &id).await?;
    client.stop_actor(host.id(), &id).await?;
    report.row(
        "start → first call, uncached code",
        format!("{:.1} ms", ms(uncached)),
        "target ≤ 100 ms",
    );
    report.row(
        "start → first call, cached code",
        format!("{:.1} ms", ms(cached)),
        "target ≤ 10 ms",
    );

    // 100 distinct actors: distinct code (each compiles), then distinct ids
    // sharing code (compile cache hits).
    for (distinct_code, label) in [
        (true, "distinct code, each compiled"),
        (false, "same code, distinct ids"),
    ] {
        let mut paths = Vec::new();
        for i in 0..100 {
            let (id, bytes) = variants::sign_new(echo, &issuer, distinct_code)?;
            let p = dir.path().join(format!("many-{distinct_code}-{i}.wasm"));
            std::fs::write(&p, bytes)?;
            paths.push((id, p));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = rss_kib(host.pid())?;
        let started = Instant::now();
        start_all(&client, host, &paths).await?;
        report.row(
            &format!("100 actors started ({label})"),
            format!("{:.2} s", started.elapsed().as_secs_f64()),
            "4 starts in flight (the host compiles 2 at once); target ≤ 2 s",
        );
        if distinct_code {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let after = rss_kib(host.pid())?;
            report.row(
                "RSS per idle actor, 100 actors of distinct code",
                format!("{:.1} KiB", after.saturating_sub(before) as f64 / 100.0),
                "each holds its own compiled code (echo: a 41 KB component)",
            );
        }
        for (id, _) in &paths {
            client.stop_actor(host.id(), id).await?;
        }
        if distinct_code {
            // The same 100 again: their code now comes from the disk cache,
            // as after a host restart, with no compiler heap in the figure.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let before = rss_kib(host.pid())?;
            let started = Instant::now();
            for (_, p) in &paths {
                client
                    .start_actor(host.id(), start_request(p, None))
                    .await?;
            }
            let elapsed = started.elapsed();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let after = rss_kib(host.pid())?;
            report.row(
                "100 actors of distinct code started from the compile cache",
                format!("{:.2} s", elapsed.as_secs_f64()),
                "as after a host restart",
            );
            report.row(
                "RSS per idle actor, 100 actors of distinct code from the cache",
                format!("{:.1} KiB", after.saturating_sub(before) as f64 / 100.0),
                "target ≤ 100 KiB",
            );
            for (id, _) in &paths {
                client.stop_actor(host.id(), id).await?;
            }
        }
    }

    // RSS per idle actor at 1,000 actors.
    let count = if quick { 200 } else { 1_000 };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(host.pid())?;
    for i in 0..count {
        let (_, bytes) = variants::sign_new(echo, &issuer, false)?;
        let p = dir.path().join(format!("idle-{i}.wasm"));
        std::fs::write(&p, bytes)?;
        client
            .start_actor(host.id(), start_request(&p, None))
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(host.pid())?;
    report.row(
        &format!("RSS per idle actor at {count} actors (same code, distinct ids)"),
        format!(
            "{:.1} KiB",
            (after.saturating_sub(before)) as f64 / count as f64
        ),
        &format!("host RSS {before} KiB → {after} KiB; target ≤ 100 KiB"),
    );
    Ok(())
}

/// Starts every actor in `paths`, four requests in flight at once.
async fn start_all(
    client: &CtlClient,
    host: &HostProcess,
    paths: &[(String, std::path::PathBuf)],
) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    let starts = paths
        .iter()
        .map(|(_, p)| client.start_actor(host.id(), start_request(p, None)));
    let results: Vec<_> = futures::stream::iter(starts)
        .buffer_unordered(4)
        .collect()
        .await;
    for result in results {
        result?;
    }
    Ok(())
}

async fn start_to_first_call(
    client: &CtlClient,
    host: &HostProcess,
    path: &std::path::Path,
    id: &str,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    client
        .start_actor(host.id(), start_request(path, None))
        .await?;
    loop {
        if client
            .call(id, OP, payload(), Encoding::Msgpack)
            .await
            .is_ok()
        {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(10) {
            anyhow::bail!("no successful call within 10 s of starting {id}");
        }
    }
}

/// p50 of `n` sequential calls after a warm-up.
pub async fn latency<F, Fut>(n: usize, call: F) -> anyhow::Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..200 {
        call().await?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        call().await?;
        samples.push(t.elapsed());
    }
    Ok(percentile(&mut samples, 0.5))
}

/// Completed calls per second with `in_flight` calls kept outstanding.
pub async fn throughput<F, Fut>(in_flight: usize, secs: u64, call: F) -> anyhow::Result<f64>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    use futures::StreamExt as _;
    // Keep exactly `in_flight` calls outstanding until the time is up.
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut pending = futures::stream::FuturesUnordered::new();
    for _ in 0..in_flight {
        pending.push(tokio::spawn(call()));
    }
    let mut done = 0u64;
    let started = Instant::now();
    while let Some(result) = pending.next().await {
        result.context("a call task panicked")??;
        done += 1;
        if Instant::now() < deadline {
            pending.push(tokio::spawn(call()));
        }
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

fn envelope_bytes(actor: &str) -> Vec<u8> {
    Envelope::request(
        Origin::default(),
        actor,
        OP,
        payload(),
        Encoding::Msgpack,
        Duration::from_secs(10),
    )
    .encode()
    .unwrap_or_default()
}

/// Waits for a child's `ready` line (the raw responder, the plain HTTP server).
pub async fn wait_ready(child: &mut tokio::process::Child) -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt as _;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await??;
    anyhow::ensure!(line.as_deref() == Some("ready"), "child did not start");
    Ok(())
}

pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `median (min–max) unit` of `values`, with `places` decimals.
pub fn spread(values: &[f64], unit: &str, places: usize) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (
        sorted.first().copied().unwrap_or(0.0),
        sorted.last().copied().unwrap_or(0.0),
    );
    let sep = if unit == "×" { "" } else { " " };
    format!(
        "{:.p$}{sep}{unit} ({:.p$}–{:.p$})",
        median(values),
        lo,
        hi,
        p = places
    )
}

/// The median of `values` (the upper one of an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

fn median_duration(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}
