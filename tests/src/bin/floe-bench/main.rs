//! `floe-bench` (run by `make bench`): measures Floe against raw NATS on one
//! nats-server in one run and prints a Markdown report.
//!
//! Sections: in-host instantiate and call (in-process runtime), the lattice
//! MAC's cost per message (HMAC-SHA256, keyed BLAKE3 for comparison), invocation
//! latency and throughput through NATS against a real `floe-host` process,
//! the same for raw NATS request/reply with the same payload (responder in
//! its own process, like the host), actor start times, and memory per idle
//! actor, dormant actors (memory, cold calls; 10,000 of them on one host
//! and their readiness after a restart), a scale simulation of 10
//! and 50 host processes; HTTP hello-world through the `http-server`
//! provider and an actor
//! under `wrk`, next to plain hyper. `floe-bench --responder URL SUBJECT` is
//! the raw responder, `floe-bench --plain-hello ADDR` the plain HTTP server.
//! `floe dev`'s edit-to-served on the Rust http template and its idle CPU;
//! Ingress: hello at 1/16/64 connections, local and remote replica, 1,000
//! routes, route propagation, TLS handshakes per second against a bare
//! tokio-rustls server (`floe-bench --plain-tls ADDR PEM`), lattice calls
//! while the listener is flooded (`--ingress-only`).
//! Secrets: put-to-visible, starts with 0/1/10 secrets, a full re-key.
//! Instance reuse: hello at 64/256 connections, a fresh instance per
//! request against `--reuse 128` (`--reuse-only`).
//! `--quick` shortens runs; `--inhost-only`, `--http-only`, `--dev-only`,
//! `--dormant-only`, `--secrets-only`, `--ingress-only`, `--reuse-only` and `--scale-only` run one section
//! (and print the report without writing it).

mod dev;
mod dormant;
mod http;
mod ingress;
mod ingress_edges;
mod inhost;
mod linked;
mod load;
mod mac;
mod many_dormant;
mod responder;
mod reuse;
mod scale;
mod secrets;
mod stats;
mod variants;

use std::time::Duration;

use anyhow::Context as _;
use floe_tests::{HostOptions, HostProcess, NatsServer, paths};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--responder") {
        let (url, subject) = (args.get(2).context("URL")?, args.get(3).context("SUBJECT")?);
        return responder::serve(url, subject).await;
    }
    if args.get(1).map(String::as_str) == Some("--plain-tls") {
        let (addr, pem) = (args.get(2).context("ADDR")?, args.get(3).context("PEM")?);
        return ingress_edges::serve_plain_tls(addr, pem).await;
    }
    if args.get(1).map(String::as_str) == Some("--plain-hello") {
        return http::serve_plain(args.get(2).context("ADDR")?).await;
    }
    let flag = |name: &str| args.iter().any(|a| a == name);
    let (quick, http_only) = (flag("--quick"), flag("--http-only"));
    let mut report = Report::default();
    let echo = std::fs::read(paths::actor("echo")?)?;

    if !http_only {
        eprintln!("== in-host figures");
        inhost::measure(&echo, &mut report, quick).await?;
        mac::measure(&mut report, quick);
        if flag("--inhost-only") {
            println!("{}", report.render());
            return Ok(());
        }
    }

    if flag("--scale-only") {
        eprintln!("== scale simulation");
        scale::measure(&mut report, quick).await?;
        println!("{}", report.render());
        return Ok(());
    }

    let nats = NatsServer::start().await?;
    let lattice = "bench";
    let cache = tempfile::tempdir()?;
    let host = HostProcess::start(
        nats.url(),
        lattice,
        HostOptions {
            args: [
                "--max-concurrent",
                "512",
                "--max-instances",
                "1200",
                "--queue-depth",
                "4096",
            ]
            .map(str::to_owned)
            .to_vec(),
            cache_dir: Some(cache.path().to_owned()),
            ..HostOptions::default()
        },
    )
    .await?;
    if http_only {
        eprintln!("== HTTP through a provider");
        http::measure(&nats, lattice, &host, &mut report, quick).await?;
        println!("{}", report.render());
        return Ok(());
    }
    if flag("--dev-only") {
        eprintln!("== floe dev");
        dev::measure(&nats, lattice, &mut report, quick).await?;
        println!("{}", report.render());
        return Ok(());
    }
    if flag("--ingress-only") {
        eprintln!("== ingress");
        ingress::measure(&mut report, quick).await?;
        eprintln!("== ingress TLS and flood");
        ingress_edges::measure(&mut report, quick).await?;
        println!("{}", report.render());
        return Ok(());
    }
    if flag("--reuse-only") {
        eprintln!("== instance reuse");
        reuse::measure(&mut report, quick).await?;
        println!("{}", report.render());
        return Ok(());
    }
    if flag("--secrets-only") {
        eprintln!("== secrets and live config");
        secrets::measure(&nats, lattice, &host, &mut report, quick).await?;
        println!("{}", report.render());
        return Ok(());
    }
    if flag("--dormant-only") {
        eprintln!("== dormant replicas");
        dormant::measure(&nats, lattice, &host, &echo, &mut report, quick).await?;
        drop(host);
        eprintln!("== many dormant actors");
        many_dormant::measure(&mut report, quick).await?;
        println!("{}", report.render());
        return Ok(());
    }
    eprintln!("== through NATS");
    let baseline = load::measure(&nats, lattice, &host, &echo, &mut report, quick).await?;
    eprintln!("== linked, across two hosts");
    linked::measure(&nats, lattice, &host, baseline, &mut report, quick).await?;
    if flag("--nats-only") {
        println!("{}", report.render());
        return Ok(());
    }
    eprintln!("== HTTP through a provider");
    http::measure(&nats, lattice, &host, &mut report, quick).await?;
    eprintln!("== ingress");
    ingress::measure(&mut report, quick).await?;
    eprintln!("== ingress TLS and flood");
    ingress_edges::measure(&mut report, quick).await?;
    eprintln!("== instance reuse");
    reuse::measure(&mut report, quick).await?;
    eprintln!("== floe dev");
    dev::measure(&nats, lattice, &mut report, quick).await?;
    eprintln!("== starts and memory");
    load::starts_and_memory(&nats, lattice, &host, &echo, &mut report, quick).await?;
    eprintln!("== secrets and live config");
    secrets::measure(&nats, lattice, &host, &mut report, quick).await?;
    eprintln!("== dormant replicas");
    dormant::measure(&nats, lattice, &host, &echo, &mut report, quick).await?;
    drop(host);
    eprintln!("== many dormant actors");
    many_dormant::measure(&mut report, quick).await?;
    eprintln!("== scale simulation");
    scale::measure(&mut report, quick).await?;

    let text = report.render();
    println!("{text}");
    let out = paths::bin_dir()?.join("../bench-report.md");
    std::fs::write(&out, &text)?;
    eprintln!("report written to {}", out.display());
    Ok(())
}

/// Rows of the report, in order.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<(String, String, String)>,
}

impl Report {
    pub fn row(&mut self, what: &str, value: String, note: &str) {
        eprintln!("  {what}: {value} {note}");
        self.rows.push((what.to_owned(), value, note.to_owned()));
    }

    fn render(&self) -> String {
        let mut out = String::from("| measure | value | notes |\n| --- | --- | --- |\n");
        for (what, value, note) in &self.rows {
            out.push_str(&format!("| {what} | {value} | {note} |\n"));
        }
        out
    }
}

/// Formats a duration in µs with one decimal.
pub fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
