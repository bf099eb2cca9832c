//! Dormant replicas: 100 actors of distinct code go dormant; the memory
//! each holds active and dormant, and each one's cold call (its code loaded
//! from the compile cache) against a warm call of the same actor right
//! after, interleaved actor by actor.

use std::time::{Duration, Instant};

use floe_ctl::CtlClient;
use floe_tests::{HostProcess, NatsServer, start_request};
use floe_wire::control::ReplicaState;
use floe_wire::{Encoding, KeyKind};

use crate::inhost::payload;
use crate::load::{OP, rss_kib};
use crate::stats::percentile;
use crate::{Report, variants};

/// How long the benchmark's actors may idle before they go dormant: longer
/// than starting them all takes, so the active figure is all active.
const IDLE: Duration = Duration::from_secs(5);

pub async fn measure(
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
    let n = if quick { 20 } else { 100 };
    // Compile each once first (started and stopped), so the figures hold
    // code from the compile cache, as after a host restart, and no
    // compiler heap.
    let mut actors = Vec::new();
    for i in 0..n {
        let (id, bytes) = variants::sign_new(echo, &issuer, true)?;
        let path = dir.path().join(format!("dormant-{i}.wasm"));
        std::fs::write(&path, bytes)?;
        client
            .start_actor(host.id(), start_request(&path, None))
            .await?;
        client.stop_actor(host.id(), &id).await?;
        actors.push((id, path));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(host.pid())?;
    let mut ids = Vec::new();
    for (id, path) in actors {
        let mut req = start_request(&path, None);
        req.idle_after_ms = Some(u64::try_from(IDLE.as_millis())?);
        client.start_actor(host.id(), req).await?;
        client.call(&id, OP, payload(), Encoding::Msgpack).await?;
        ids.push(id);
    }
    let active = rss_kib(host.pid())?;
    let inventory = client.inventory(host.id()).await?;
    let still_active = inventory
        .actors
        .iter()
        .filter(|a| ids.contains(&a.actor_id) && a.state == ReplicaState::Active)
        .count();
    anyhow::ensure!(
        still_active == ids.len(),
        "only {still_active} of {} actors were active when measured",
        ids.len()
    );
    wait_all_dormant(&client, host, &ids).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dormant = rss_kib(host.pid())?;
    let per = |kib: u64| kib.saturating_sub(before) as f64 / n as f64;
    report.row(
        &format!("RSS per actor, {n} of distinct code, active after one call"),
        format!("{:.1} KiB", per(active)),
        "code from the compile cache; baseline: the host before they started",
    );
    report.row(
        &format!("RSS per actor, the same {n} dormant"),
        format!("{:.1} KiB", per(dormant)),
        "code freed, subscription kept; target ≤ 5 KiB",
    );

    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for id in &ids {
        let t = Instant::now();
        client.call(id, OP, payload(), Encoding::Msgpack).await?;
        cold.push(t.elapsed());
        let t = Instant::now();
        client.call(id, OP, payload(), Encoding::Msgpack).await?;
        warm.push(t.elapsed());
    }
    let (cold50, cold99) = (percentile(&mut cold, 0.5), percentile(&mut cold, 0.99));
    let warm50 = percentile(&mut warm, 0.5);
    report.row(
        &format!("cold call of a dormant actor, {n} actors: p50 / p99"),
        format!("{:.2} / {:.2} ms", ms(cold50), ms(cold99)),
        "code from the compile cache; target p99 ≤ 20 ms",
    );
    report.row(
        "cold / warm call, p50 (the warm call right after, same actor)",
        format!(
            "{:.1}× ({:.2} ms warm)",
            ms(cold50) / ms(warm50),
            ms(warm50)
        ),
        "interleaved actor by actor",
    );
    for id in &ids {
        client.stop_actor(host.id(), id).await?;
    }
    Ok(())
}

async fn wait_all_dormant(
    client: &CtlClient,
    host: &HostProcess,
    ids: &[String],
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let inventory = client.inventory(host.id()).await?;
        let dormant = inventory
            .actors
            .iter()
            .filter(|a| ids.contains(&a.actor_id) && a.state == ReplicaState::Dormant)
            .count();
        if dormant == ids.len() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            anyhow::bail!("only {dormant} of {} actors went dormant", ids.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
