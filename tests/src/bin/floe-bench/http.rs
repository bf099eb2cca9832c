//! HTTP hello-world under a real load generator (`wrk`): the `http-server`
//! provider forwarding to the `http-hello` actor on the bench's host, next to
//! a plain hyper hello-world in its own process in the same run (the ratio is
//! the figure), at two concurrencies; then the actor at `max-concurrent 1`,
//! which must still answer every request. `floe-bench --plain-hello ADDR` is
//! the plain server. Skipped, with a report line, when `wrk` is missing.

use std::convert::Infallible;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use floe_ctl::CtlClient;
use floe_tests::http::{HttpClient, free_port};
use floe_tests::{HostProcess, NatsServer, paths, start_request};
use floe_wire::Link;
use floe_wire::control::{CONTROL_VERSION, StartProviderRequest};
use http_body_util::Full;
use hyper::Response;
use hyper_util::rt::TokioIo;
use tokio::process::Command;

use crate::Report;
use crate::load::wait_ready;

const BODY: &[u8] = b"hello from floe\n";
const CONNECTIONS: [u32; 2] = [64, 256];

/// The plain baseline: hyper HTTP/1.1 with keep-alive, `hello from floe\n`
/// to every request, until killed.
pub async fn serve_plain(addr: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("ready");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_req| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

pub async fn measure(
    nats: &NatsServer,
    lattice: &str,
    host: &HostProcess,
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<()> {
    if wrk_missing() {
        eprintln!("wrk is not installed: HTTP section skipped (apt-get install -y wrk)");
        report.row(
            "HTTP hello-world",
            "skipped".into(),
            "wrk is not installed: `apt-get install -y wrk` (`make bench` does)",
        );
        return Ok(());
    }
    let secs = if quick { 3 } else { 10 };

    // The plain baseline, in its own process like the provider.
    let port = free_port();
    let plain = spawn_plain(port).await?;
    let mut baseline = Vec::new();
    for c in CONNECTIONS {
        let run = wrk(port, c, secs).await?;
        report.row(
            &format!("HTTP hello-world, {c} connections: plain hyper"),
            run.figures(),
            &format!(
                "wrk -t2 -c{c} -d{secs}s, server in its own process; {}",
                run.errors()
            ),
        );
        baseline.push(run);
    }
    drop(plain);

    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(10));
    let hello = paths::actor("http-hello")?;
    let actor = client
        .start_actor(host.id(), start_request(&hello, None))
        .await?
        .actor_id;
    let provider = StartProviderRequest {
        v: CONTROL_VERSION,
        reference: paths::bin("http-server")?.display().to_string(),
        provider_key: None,
        config: Default::default(),
        annotations: Default::default(),
        secrets: Default::default(),
    };
    let server = client
        .start_provider(host.id(), provider)
        .await?
        .provider_id;
    let port = free_port();
    let mut link = Link::new(
        &server,
        &actor,
        floe_wire::http::PACKAGE,
        &[floe_wire::http::INCOMING_HANDLER_INTERFACE],
    );
    link.source_config.insert(
        floe_wire::http::ADDRESS_KEY.into(),
        format!("127.0.0.1:{port}"),
    );
    let floe = Floe {
        client: &client,
        host,
        link: &link,
        hello: &hello,
        port,
    };
    let result = floe.measure(&baseline, report, secs).await;
    // Leave the host as found for the sections after this one.
    let _ = client
        .delete_link(&server, &link.package, &link.link_name)
        .await;
    let _ = client.stop_provider(host.id(), &server).await;
    let _ = client.stop_actor(host.id(), &actor).await;
    result
}

/// The Floe path: provider, link and actor on the bench's host.
struct Floe<'a> {
    client: &'a CtlClient,
    host: &'a HostProcess,
    link: &'a Link,
    hello: &'a std::path::Path,
    port: u16,
}

impl Floe<'_> {
    async fn measure(
        &self,
        baseline: &[Wrk],
        report: &mut Report,
        secs: u64,
    ) -> anyhow::Result<()> {
        self.client.put_link(self.link).await?;
        self.answering().await?;
        for (c, plain) in CONNECTIONS.into_iter().zip(baseline) {
            let run = wrk(self.port, c, secs).await?;
            report.row(
                &format!("HTTP hello-world, {c} connections: Floe (http-server → http-hello)"),
                run.figures(),
                &format!(
                    "same wrk command, fresh instance per request; {}",
                    run.errors()
                ),
            );
            report.row(
                &format!("HTTP ratio Floe / plain hyper, {c} connections"),
                format!("{:.2}×", run.rate / plain.rate),
                &format!(
                    "requests/s; p50 {:.1}×, p99 {:.1}× plain",
                    run.p50.as_secs_f64() / plain.p50.as_secs_f64(),
                    run.p99.as_secs_f64() / plain.p99.as_secs_f64()
                ),
            );
        }

        // The same actor again at max-concurrent 1: 64 connections queue on
        // one instance at a time, and every request must still be answered.
        self.client
            .stop_actor(self.host.id(), &self.link.target)
            .await?;
        self.client
            .start_actor(self.host.id(), start_request(self.hello, Some(1)))
            .await?;
        self.answering().await?;
        let secs = secs.min(5);
        let run = wrk(self.port, 64, secs).await?;
        let verdict = if run.all_answered() {
            format!(
                "all {} requests answered 2xx, no socket errors: no hang",
                run.requests
            )
        } else {
            eprintln!(
                "  warning: requests lost at max-concurrent 1: {}",
                run.errors()
            );
            format!("NOT all answered: {}", run.errors())
        };
        report.row(
            "HTTP hello-world, actor at max-concurrent 1, 64 connections",
            run.figures(),
            &format!("wrk -t2 -c64 -d{secs}s; {verdict}"),
        );
        Ok(())
    }

    /// Waits until `GET /` answers 200 (links and starts apply
    /// asynchronously), within 20 s.
    async fn answering(&self) -> anyhow::Result<()> {
        let client = HttpClient::new();
        let url = format!("http://127.0.0.1:{}/", self.port);
        let started = Instant::now();
        loop {
            let answer = client.get(&url).await;
            match &answer {
                Ok(a) if a.status == 200 => return Ok(()),
                _ if started.elapsed() > Duration::from_secs(20) => {
                    bail!("{url} never answered 200 within 20 s: last {answer:?}")
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// What one wrk run reported.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Wrk {
    pub rate: f64,
    pub p50: Duration,
    p99: Duration,
    requests: u64,
    non_2xx: u64,
    /// wrk's "Socket errors" line as printed, when present.
    socket_errors: Option<String>,
    timeouts: u64,
}

impl Wrk {
    pub fn figures(&self) -> String {
        format!(
            "{:.0} req/s, p50 {}, p99 {}",
            self.rate,
            human(self.p50),
            human(self.p99)
        )
    }

    pub fn errors(&self) -> String {
        match (&self.socket_errors, self.non_2xx) {
            (None, 0) => "no errors".into(),
            (None, n) => format!("{n} non-2xx"),
            (Some(s), n) => format!("{n} non-2xx, socket errors: {s}"),
        }
    }

    fn all_answered(&self) -> bool {
        // Any socket error (connect, read, write, timeout) is a request
        // not answered.
        self.requests > 0 && self.non_2xx == 0 && self.timeouts == 0 && self.socket_errors.is_none()
    }
}

/// Runs `wrk -t2 -cC -dSs --latency` against 127.0.0.1:PORT, killed if it
/// overruns by 30 s.
async fn wrk(port: u16, connections: u32, secs: u64) -> anyhow::Result<Wrk> {
    wrk_with_host(port, connections, secs, None).await
}

/// [`wrk`] with a `Host` header (ingress routes by it).
/// Whether `wrk` is missing (the HTTP sections are skipped then).
pub fn wrk_missing() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
}

/// The plain hyper server (`floe-bench --plain-hello`) on `port`, in its
/// own process, once it is ready.
pub async fn spawn_plain(port: u16) -> anyhow::Result<tokio::process::Child> {
    let mut plain = Command::new(std::env::current_exe()?)
        .args(["--plain-hello", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    wait_ready(&mut plain).await?;
    Ok(plain)
}

pub async fn wrk_with_host(
    port: u16,
    connections: u32,
    secs: u64,
    host: Option<&str>,
) -> anyhow::Result<Wrk> {
    let threads = connections.min(2);
    let mut args = vec![
        format!("-t{threads}"),
        format!("-c{connections}"),
        format!("-d{secs}s"),
        "--latency".to_owned(),
    ];
    if let Some(host) = host {
        args.push("-H".to_owned());
        args.push(format!("Host: {host}"));
    }
    args.push(format!("http://127.0.0.1:{port}/"));
    let run = Command::new("wrk").args(args).kill_on_drop(true).output();
    let out = tokio::time::timeout(Duration::from_secs(secs + 30), run)
        .await
        .context("wrk did not finish in time")??;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed ({}): {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

fn parse(text: &str) -> anyhow::Result<Wrk> {
    let mut run = Wrk::default();
    let mut in_distribution = false;
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            run.rate = v.trim().parse()?;
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.non_2xx = v.trim().parse()?;
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            let v = v.trim();
            run.timeouts = v
                .rsplit_once("timeout ")
                .and_then(|(_, n)| n.trim().parse().ok())
                .unwrap_or(0);
            run.socket_errors = Some(v.to_owned());
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            run.requests = n.trim().parse()?;
        } else if line == "Latency Distribution" {
            in_distribution = true;
        } else if in_distribution {
            match line.split_once(char::is_whitespace) {
                Some(("50%", v)) => run.p50 = duration(v.trim())?,
                Some(("99%", v)) => {
                    run.p99 = duration(v.trim())?;
                    in_distribution = false;
                }
                _ => {}
            }
        }
    }
    if run.rate == 0.0 || run.p99.is_zero() {
        bail!("no Requests/sec or latency distribution");
    }
    Ok(run)
}

/// A wrk time: `250.00us`, `5.00ms`, `1.20s`, `2.00m`.
fn duration(v: &str) -> anyhow::Result<Duration> {
    let split = v
        .find(|c: char| c.is_ascii_alphabetic())
        .context("a time without a unit")?;
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse()?;
    let scale = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        _ => bail!("unknown time unit {unit:?}"),
    };
    Ok(Duration::from_secs_f64(number * scale))
}

fn human(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_output() {
        let text = "Running 10s test @ http://127.0.0.1:8080/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec    56.20k     8.07k   62.00k    86.54%
  Latency Distribution
     50%  250.00us
     75%  491.00us
     90%  700.00us
     99%    5.00ms
  1117050 requests in 10.00s, 145.95MB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec: 111705.00
Transfer/sec:     14.59MB
";
        let run = parse(text).expect("parses");
        assert_eq!(run.rate, 111_705.0);
        assert_eq!(run.p50, Duration::from_micros(250));
        assert_eq!(run.p99, Duration::from_millis(5));
        assert_eq!(run.requests, 1_117_050);
        assert_eq!(run.non_2xx, 12);
        assert_eq!(run.timeouts, 3);
        assert!(!run.all_answered());
        assert_eq!(duration("1.20s").ok(), Some(Duration::from_millis(1200)));
    }
}
