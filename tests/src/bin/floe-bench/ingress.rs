//! Ingress (docs/ingress.md): HTTP hello-world through a host's own
//! listener (`--ingress`) with the `http-hello` replica on that host (run
//! in process) and with it only on another host (over the lattice), next
//! to plain hyper in its own process, at 1, 16 and 64 connections, rounds
//! interleaved (plain, local, remote, …); the local case again with 1,000
//! routes in the table; and how long a new route takes to serve (put →
//! first 200). Skipped with a report line when `wrk` is missing.

use std::time::{Duration, Instant};

use floe_tests::http::{HttpClient, free_port};
use floe_tests::{HostOptions, HostProcess, NatsServer, paths, start_request};
use floe_wire::ingress::{PathKind, Route, route_key};

use crate::Report;
use crate::http::{Wrk, spawn_plain, wrk_missing, wrk_with_host};
use crate::load::spread;
use crate::stats::percentile;

const CONNECTIONS: [u32; 3] = [1, 16, 64];

/// A host sized for wrk's load (instances, concurrency and queue far
/// above the connections), with `extra` flags, compiling into `cache`.
pub fn loaded_host(cache: &std::path::Path, extra: &[&str]) -> HostOptions {
    HostOptions {
        args: [
            "--max-concurrent",
            "512",
            "--max-instances",
            "1200",
            "--queue-depth",
            "4096",
        ]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect(),
        cache_dir: Some(cache.to_owned()),
        ..HostOptions::default()
    }
}

/// Waits until ingress at `address` answers 200 for `host`.
pub async fn wait_served(address: &str, host: &str) -> anyhow::Result<()> {
    let http = HttpClient::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = http
            .send(
                "GET",
                &format!("http://{address}/"),
                &[("host", host)],
                Vec::new(),
            )
            .await;
        if answer.is_ok_and(|a| a.status == 200) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "ingress never served {host}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A route for any path of `host` to `target`.
pub fn route(name: &str, host: &str, target: &str) -> Route {
    Route {
        name: name.into(),
        hosts: vec![host.into()],
        path: "/".into(),
        path_kind: PathKind::Prefix,
        methods: Vec::new(),
        headers: Default::default(),
        target: target.into(),
        strip_prefix: false,
        timeout_ms: None,
        tls: None,
        https_redirect: false,
        ..Default::default()
    }
}

pub async fn measure(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    if wrk_missing() {
        report.row("ingress", "skipped".into(), "wrk is not installed");
        return Ok(());
    }
    let (secs, rounds) = if quick { (2, 2) } else { (5, 3) };
    let nats = NatsServer::start().await?;
    let lattice = "ingress";
    let cache = tempfile::tempdir()?;
    let port = free_port();
    let options = |extra: &[&str]| loaded_host(cache.path(), extra);
    let address = format!("127.0.0.1:{port}");
    let ingress =
        HostProcess::start(nats.url(), lattice, options(&["--ingress", &address])).await?;
    let other = HostProcess::start(nats.url(), lattice, options(&[])).await?;
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(30));
    let code = std::fs::read(paths::actor("http-hello")?)?;
    let issuer = nkeys::KeyPair::new_account();
    let dir = tempfile::tempdir()?;
    let mut targets = Vec::new();
    for (name, host) in [("local", &ingress), ("remote", &other)] {
        let (id, signed) = floe_tests::sign_as_new_actor(&code, &issuer, name, &[])?;
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, signed)?;
        client
            .start_actor(host.id(), start_request(&path, None))
            .await?;
        client
            .put_route(route(name, &format!("{name}.bench"), &id))
            .await?;
        targets.push(id);
    }
    let http = HttpClient::new();
    for name in ["local", "remote"] {
        wait_served(&address, &format!("{name}.bench")).await?;
    }
    let plain_port = free_port();
    let _plain = spawn_plain(plain_port).await?;

    for c in CONNECTIONS {
        let mut runs: [Vec<Wrk>; 3] = Default::default();
        for _ in 0..rounds {
            runs[0].push(wrk_with_host(plain_port, c, secs, None).await?);
            runs[1].push(wrk_with_host(port, c, secs, Some("local.bench")).await?);
            runs[2].push(wrk_with_host(port, c, secs, Some("remote.bench")).await?);
        }
        let p50 = |i: usize| {
            runs[i]
                .iter()
                .map(|r| r.p50.as_secs_f64() * 1e6)
                .collect::<Vec<_>>()
        };
        let rate = |i: usize| runs[i].iter().map(|r| r.rate).collect::<Vec<_>>();
        let ratios = |i: usize| {
            runs[i]
                .iter()
                .zip(&runs[0])
                .map(|(r, p)| r.rate / p.rate)
                .collect::<Vec<_>>()
        };
        for (i, what) in [
            (0, "plain hyper"),
            (1, "ingress, replica on the host"),
            (2, "ingress, replica on another host"),
        ] {
            let errors = runs[i]
                .iter()
                .map(Wrk::errors)
                .collect::<Vec<_>>()
                .join("; ");
            let ratio = match i {
                0 => String::new(),
                _ => format!(", {} of plain", spread(&ratios(i), "×", 2)),
            };
            report.row(
                &format!("ingress hello, {c} connection(s): {what}"),
                format!(
                    "p50 {}, {}{ratio}",
                    spread(&p50(i), "µs", 0),
                    spread(&rate(i), "req/s", 0)
                ),
                &format!("wrk -c{c} -d{secs}s, {rounds} rounds interleaved; {errors}"),
            );
        }
    }

    // The local case again with 1,000 routes in the table.
    let store = floe_lattice::open_bucket(&nats.connect().await?, &lattice.parse()?).await?;
    let auth = floe_tests::auth_for(lattice);
    for i in 0..999 {
        let mut extra = route(&format!("r{i}"), &format!("h{i}.bench"), &targets[0]);
        extra.normalize()?;
        floe_lattice::records::put(&store, &auth, &route_key(&extra.name), &extra).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = http
            .send(
                "GET",
                &format!("http://{address}/"),
                &[("host", "h998.bench")],
                Vec::new(),
            )
            .await;
        if answer.is_ok_and(|a| a.status == 200) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "1,000 routes never applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut many = Vec::new();
    for _ in 0..rounds {
        many.push(wrk_with_host(port, 64, secs, Some("local.bench")).await?);
    }
    report.row(
        "ingress hello, 64 connections, replica on the host, 1,000 routes",
        format!(
            "p50 {}, {}",
            spread(
                &many
                    .iter()
                    .map(|r| r.p50.as_secs_f64() * 1e6)
                    .collect::<Vec<_>>(),
                "µs",
                0
            ),
            spread(&many.iter().map(|r| r.rate).collect::<Vec<_>>(), "req/s", 0)
        ),
        "compare with the 1-route row above (64 connections, replica on the host)",
    );

    // A new route: from the put returning to its first 200.
    let mut took = Vec::new();
    for i in 0..if quick { 5 } else { 20 } {
        let host = format!("new{i}.bench");
        client
            .put_route(route(&format!("new{i}"), &host, &targets[0]))
            .await?;
        let started = Instant::now();
        loop {
            let answer = http
                .send(
                    "GET",
                    &format!("http://{address}/"),
                    &[("host", &host)],
                    Vec::new(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("ingress: {e}"))?;
            if answer.status == 200 {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "route never served"
            );
        }
        took.push(started.elapsed());
    }
    let (p50, p99) = (percentile(&mut took, 0.5), percentile(&mut took, 0.99));
    report.row(
        "ingress: route put → first request served, p50 / p99",
        format!(
            "{:.2} / {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        ),
        &format!(
            "{} new routes, 1,000 in the table; polled without pause",
            took.len()
        ),
    );
    drop((ingress, other));
    Ok(())
}
