//! `floe dev`'s inner loop on the Rust `http` template: from saving an edit
//! of the handler's text to the new text served, split as `floe dev`
//! reports it (build, sign, push, swap), and `floe dev`'s CPU while idle
//! (its process's CPU time over 10 s with nothing changing).

use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use floe_tests::http::{HttpClient, free_port};
use floe_tests::{FloeCli, NatsServer, paths};

use crate::Report;
use crate::stats::percentile;

pub async fn measure(
    nats: &NatsServer,
    lattice: &str,
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<()> {
    let edits = if quick { 3 } else { 7 };
    let cli = FloeCli::for_lattice(lattice)?;
    let root = tempfile::tempdir()?;
    let flags = ["--nats-url", nats.url(), "--lattice", lattice];
    let mut new = cli.command();
    new.args(["new", "actor", "bench-web", "--template", "http"])
        .args(flags)
        .current_dir(root.path());
    anyhow::ensure!(cli.run_command(new).success, "floe new failed");
    let project = root.path().join("bench-web");
    let address = format!("127.0.0.1:{}", free_port());
    let mut command = cli.command();
    command
        .args(["dev", "--address", &address])
        .args(flags)
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", paths::guest_target_dir()?)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut dev = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()?;
    let said = floe_tests::cli::collect_output(&mut dev);
    let url = format!("http://{address}/");
    let http = HttpClient::new();
    wait_served(
        &http,
        &url,
        "hello from bench-web\n",
        Duration::from_secs(600),
    )
    .await?;
    let first = started.elapsed();

    let source = project.join("src/lib.rs");
    let code = std::fs::read_to_string(&source)?;
    let (mut served, mut build, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..edits {
        let text = format!("hello {i} from bench-web");
        anyhow::ensure!(
            code.contains("hello from bench-web"),
            "the template's greeting moved"
        );
        let saved = Instant::now();
        std::fs::write(&source, code.replace("hello from bench-web", &text))?;
        wait_served(&http, &url, &format!("{text}\n"), Duration::from_secs(300)).await?;
        served.push(saved.elapsed());
        let revision = i + 2;
        let line = wait_line(&said, &format!("Swapped in revision {revision}:")).await?;
        let ms = |label: &str| -> f64 {
            line.split(&format!("{label} "))
                .nth(1)
                .and_then(|t| t.split(' ').next())
                .and_then(|t| t.parse().ok())
                .unwrap_or(f64::NAN)
        };
        build.push(Duration::from_secs_f64(ms("build") / 1e3));
        rest.push(Duration::from_secs_f64(
            (ms("sign") + ms("push") + ms("swap")) / 1e3,
        ));
    }
    let show = |v: &mut Vec<Duration>| {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!(
            "{:.0} ms ({:.0}–{:.0})",
            ms(percentile(v, 0.5)),
            ms(*v.iter().min().expect("some")),
            ms(*v.iter().max().expect("some"))
        )
    };
    report.row(
        "floe dev, Rust http template: first build to served",
        format!("{:.1} s", first.as_secs_f64()),
        "new project, dependencies already built in target/guest",
    );
    report.row(
        &format!("floe dev: edit saved → new text served, median (min–max) of {edits}"),
        show(&mut served),
        "a client polling every 5 ms",
    );
    report.row(
        "… of which the Rust build (cargo, incremental, release)",
        show(&mut build),
        "as floe dev reports it",
    );
    report.row(
        "… of which sign + push + swap",
        show(&mut rest),
        "target ≤ 100 ms",
    );

    // Idle: nothing changes for 10 s.
    let pid = dev.id().ok_or_else(|| anyhow::anyhow!("floe dev exited"))?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = cpu_ticks(pid)?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let ticks = cpu_ticks(pid)? - before;
    report.row(
        "floe dev's CPU while idle",
        format!("{:.2} %", ticks as f64 / 10.0),
        &format!("{ticks} clock ticks (1/100 s) in 10 s"),
    );
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(60), dev.wait()).await;
    Ok(())
}

async fn wait_served(
    http: &HttpClient,
    url: &str,
    text: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    let since = Instant::now();
    loop {
        if let Ok(answer) = http.get(url).await
            && answer.text() == text
        {
            return Ok(());
        }
        anyhow::ensure!(since.elapsed() < limit, "{url} never served {text:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_line(said: &Mutex<String>, start: &str) -> anyhow::Result<String> {
    let since = Instant::now();
    loop {
        if let Some(line) = said
            .lock()
            .expect("lines")
            .lines()
            .find(|l| l.contains(start))
        {
            return Ok(line.to_owned());
        }
        anyhow::ensure!(
            since.elapsed() < Duration::from_secs(30),
            "floe dev never said {start:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) in parens.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after `)`.
    Ok(field(11) + field(12))
}
