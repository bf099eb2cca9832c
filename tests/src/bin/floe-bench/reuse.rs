//! Instance reuse and WASI 0.3 (`--reuse`, docs/security.md): HTTP hello
//! through ingress with the replica on the ingress host — the WASI 0.2
//! `http-hello` on a host giving every request a fresh instance (the
//! default) and on one with `--reuse 128`, and the WASI 0.3
//! `http-hello-p3` with a fresh instance per request
//! (`--max-calls-per-instance 1`) and with instances shared by up to 16
//! requests at once (the default) — next to plain hyper in its own
//! process, at 64 and 256 connections, rounds interleaved (plain, then
//! each mode). Skipped when `wrk` is missing.

use std::time::Duration;

use floe_tests::http::free_port;
use floe_tests::{HostProcess, NatsServer, paths, start_request};

use crate::Report;
use crate::http::{Wrk, spawn_plain, wrk_missing, wrk_with_host};
use crate::ingress::{loaded_host, route, wait_served};
use crate::load::spread;

const CONNECTIONS: [u32; 2] = [64, 256];
const REUSE: &str = "128";

pub async fn measure(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    if wrk_missing() {
        report.row("instance reuse", "skipped".into(), "wrk is not installed");
        return Ok(());
    }
    let (secs, rounds) = if quick { (2, 2) } else { (5, 3) };
    let nats = NatsServer::start().await?;
    let lattice = "reuse";
    let cache = tempfile::tempdir()?;
    let mut ports = Vec::new();
    let mut hosts = Vec::new();
    // Host 0 runs the defaults; host 1 reuses 0.2 instances and gives
    // every 0.3 call a fresh one.
    for (reuse, calls) in [("0", "128"), (REUSE, "1")] {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let options = loaded_host(
            cache.path(),
            &[
                "--ingress",
                &address,
                "--reuse",
                reuse,
                "--max-calls-per-instance",
                calls,
            ],
        );
        hosts.push(HostProcess::start(nats.url(), lattice, options).await?);
        ports.push(port);
    }
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(30));
    let p2 = std::fs::read(paths::actor("http-hello")?)?;
    let p3 = std::fs::read(paths::actor("http-hello-p3")?)?;
    let issuer = nkeys::KeyPair::new_account();
    let dir = tempfile::tempdir()?;
    // (route and actor name, code, host index)
    let cases = [
        ("fresh", &p2, 0),
        ("reuse", &p2, 1),
        ("p3", &p3, 1),
        ("shared", &p3, 0),
    ];
    for (name, code, host) in cases {
        let (id, signed) = floe_tests::sign_as_new_actor(code, &issuer, name, &[])?;
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, signed)?;
        client
            .start_actor(hosts[host].id(), start_request(&path, None))
            .await?;
        client
            .put_route(route(name, &format!("{name}.bench"), &id))
            .await?;
        wait_served(
            &format!("127.0.0.1:{}", ports[host]),
            &format!("{name}.bench"),
        )
        .await?;
    }
    let plain_port = free_port();
    let _plain = spawn_plain(plain_port).await?;

    for c in CONNECTIONS {
        let mut runs: [Vec<Wrk>; 5] = Default::default();
        for _ in 0..rounds {
            runs[0].push(wrk_with_host(plain_port, c, secs, None).await?);
            for (i, (name, _, host)) in cases.iter().enumerate() {
                let host_header = format!("{name}.bench");
                runs[i + 1].push(wrk_with_host(ports[*host], c, secs, Some(&host_header)).await?);
            }
        }
        for (i, what) in [
            (0, "plain hyper".to_owned()),
            (
                1,
                "WASI 0.2, a fresh instance per request (default)".to_owned(),
            ),
            (2, format!("WASI 0.2, --reuse {REUSE}")),
            (
                3,
                "WASI 0.3, a fresh instance per request (--max-calls-per-instance 1)".to_owned(),
            ),
            (
                4,
                "WASI 0.3, instances shared by up to 16 requests at once (default)".to_owned(),
            ),
        ] {
            let rate: Vec<f64> = runs[i].iter().map(|r| r.rate).collect();
            let p50: Vec<f64> = runs[i].iter().map(|r| r.p50.as_secs_f64() * 1e6).collect();
            let ratio = match i {
                0 => String::new(),
                _ => {
                    let ratios: Vec<f64> = runs[i]
                        .iter()
                        .zip(&runs[0])
                        .map(|(r, p)| r.rate / p.rate)
                        .collect();
                    format!(", {} of plain", spread(&ratios, "×", 2))
                }
            };
            let errors = runs[i]
                .iter()
                .map(Wrk::errors)
                .collect::<Vec<_>>()
                .join("; ");
            report.row(
                &format!("HTTP hello, {c} connections: {what}"),
                format!(
                    "p50 {}, {}{ratio}",
                    spread(&p50, "µs", 0),
                    spread(&rate, "req/s", 0)
                ),
                &format!("wrk -c{c} -d{secs}s, {rounds} rounds interleaved; replica on the ingress host; {errors}"),
            );
        }
    }
    drop(hosts);
    Ok(())
}
