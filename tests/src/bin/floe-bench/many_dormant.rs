//! Many dormant actors on one host: 10,000 actors of distinct code started
//! dormant (each checked and compiled into the compile cache, none kept in
//! memory), the host's RSS per dormant actor, and the time for all of them
//! to be dormant-ready again after the host restarts with its cache, as the
//! reconciler would start them. The code is a tiny component (one function
//! returning 42), so compiling 10,000 of them once fits in a benchmark: what
//! a dormant replica costs does not depend on its code, which is on disk.

use std::time::{Duration, Instant};

use floe_ctl::CtlClient;
use floe_tests::{HostOptions, HostProcess, NatsServer, start_request};
use floe_wire::{Encoding, KeyKind};
use futures::StreamExt as _;

use crate::load::rss_kib;
use crate::stats::percentile;
use crate::{Report, variants};

/// Starts in flight at once (the reconciler's own bound is similar).
const IN_FLIGHT: usize = 16;

const TINY: &str = r#"(component
  (core module $m (func (export "f") (result i32) i32.const 42))
  (core instance $i (instantiate $m))
  (func (export "answer") (result u32) (canon lift (core func $i "f")))
)"#;

pub async fn measure(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let n = if quick { 1_000 } else { 10_000 };
    let nats = NatsServer::start().await?;
    let lattice = "many-dormant";
    let cache = tempfile::tempdir()?;
    let files = tempfile::tempdir()?;
    let options = HostOptions {
        args: ["--max-instances", "64", "--idle-after", "never"]
            .map(str::to_owned)
            .to_vec(),
        cache_dir: Some(cache.path().to_owned()),
        ..HostOptions::default()
    };
    let tiny = wat::parse_str(TINY)?;
    let issuer = KeyKind::Account.generate();
    let mut actors = Vec::with_capacity(n);
    for i in 0..n {
        let (id, bytes) = variants::sign_new(&tiny, &issuer, true)?;
        let path = files.path().join(format!("tiny-{i}.wasm"));
        std::fs::write(&path, bytes)?;
        actors.push((id, path));
    }

    let mut host = HostProcess::start(nats.url(), lattice, options.clone()).await?;
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(60));
    settle().await;
    let before = rss_kib(host.pid())?;
    let first = start_all(&client, &host, &actors).await?;
    settle().await;
    let after = rss_kib(host.pid())?;
    let per = after.saturating_sub(before) as f64 * 1024.0 / n as f64;
    report.row(
        &format!("{n} dormant actors of distinct code: host RSS per actor"),
        format!("{:.2} KiB", per / 1024.0),
        &format!(
            "started dormant, {IN_FLIGHT} in flight: {:.1} s, each compiled once into the cache; target ≤ 5 KiB",
            first.as_secs_f64()
        ),
    );
    let cold = cold_calls(&client, &actors).await?;
    drop(client);
    host.terminate()?;
    host.wait_exit(Duration::from_secs(60)).await?;
    drop(host);

    let host = HostProcess::start(nats.url(), lattice, options).await?;
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(60));
    settle().await;
    let before = rss_kib(host.pid())?;
    let ready = start_all(&client, &host, &actors).await?;
    settle().await;
    let after = rss_kib(host.pid())?;
    let per_restarted = after.saturating_sub(before) as f64 / n as f64;
    report.row(
        &format!("the same {n} dormant after the restart: host RSS per actor"),
        format!("{per_restarted:.2} KiB"),
        "nothing compiled in this process; target ≤ 5 KiB",
    );
    report.row(
        &format!("{n} dormant actors: dormant-ready after a host restart"),
        format!("{:.1} s", ready.as_secs_f64()),
        &format!(
            "the same starts again, code from the compile cache ({:.2} ms each, {IN_FLIGHT} in flight)",
            ready.as_secs_f64() * 1e3 / n as f64
        ),
    );
    let again = cold_calls(&client, &actors[n / 2..]).await?;
    report.row(
        "cold call of a dormant tiny actor (100 of them): p50 / p99",
        format!(
            "{} before the restart, {} after",
            p50_p99(cold),
            p50_p99(again)
        ),
        "each called once; code mapped from the compile cache",
    );
    Ok(())
}

/// Starts every actor dormant; the time until the last start answered.
async fn start_all(
    client: &CtlClient,
    host: &HostProcess,
    actors: &[(String, std::path::PathBuf)],
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut starts = futures::stream::iter(actors.iter().map(|(id, path)| async move {
        let mut req = start_request(path, None);
        req.dormant = true;
        let reply = client.start_actor(host.id(), req).await?;
        anyhow::ensure!(reply.actor_id == *id, "started {} for {id}", reply.actor_id);
        Ok::<_, anyhow::Error>(())
    }))
    .buffer_unordered(IN_FLIGHT);
    while let Some(result) = starts.next().await {
        result?;
    }
    Ok(started.elapsed())
}

/// One call to each of the first 100 actors: p50 and p99 of their latency.
async fn cold_calls(
    client: &CtlClient,
    actors: &[(String, std::path::PathBuf)],
) -> anyhow::Result<(Duration, Duration)> {
    let mut times = Vec::new();
    for (id, _) in actors.iter().take(100) {
        let t = Instant::now();
        let reply = client
            .call(id, "answer", vec![0x90], Encoding::Msgpack)
            .await?;
        times.push(t.elapsed());
        anyhow::ensure!(reply.last() == Some(&42), "{id} answered {reply:?}");
    }
    Ok((percentile(&mut times, 0.5), percentile(&mut times, 0.99)))
}

fn p50_p99((p50, p99): (Duration, Duration)) -> String {
    format!(
        "{:.2} / {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    )
}

/// Lets the host finish what it does after answering (freeing, logging).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}
