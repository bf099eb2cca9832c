//! Secrets and live config (docs/secrets.md): put-to-visible — a new
//! secret version stored by the client until a running actor reads it —
//! against a raw KV put seen by a raw KV watch, interleaved; an actor's
//! start with 0, 1 and 10 secrets, interleaved; a full re-key of many
//! secrets by the leader against the same number of raw KV get + update
//! pairs (the floor of a compare-and-set re-seal without the crypto).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use floe_ctl::CtlClient;
use floe_tests::{HostOptions, HostProcess, NatsServer, paths};
use floe_wire::control::StringMap;
use floe_wire::secrets::{SecretValue, SecretsKey};
use futures::StreamExt as _;

use crate::Report;
use crate::load::spread;
use crate::stats::percentile;

const GET: &str = "floe:examples/settings.get";

pub async fn measure(
    nats: &NatsServer,
    lattice: &str,
    host: &HostProcess,
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<()> {
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(30));
    let default = SecretsKey::derive(&floe_tests::seed_for(lattice), &lattice.parse()?);
    put_to_visible(nats, &client, host, &default, report, quick).await?;
    starts(&client, host, &default, report, quick).await?;
    rekey(report, quick).await
}

fn value(text: &str) -> anyhow::Result<SecretValue> {
    Ok(SecretValue::new(text.as_bytes().to_vec())?)
}

fn start_request(secrets: usize) -> anyhow::Result<floe_wire::control::StartActorRequest> {
    let mut req = floe_tests::start_request(&paths::actor("settings")?, None);
    req.secrets = (0..secrets)
        .map(|i| (format!("key_{i}"), format!("bench-{i}")))
        .collect::<StringMap>();
    Ok(req)
}

async fn put_to_visible(
    nats: &NatsServer,
    client: &CtlClient,
    host: &HostProcess,
    default: &SecretsKey,
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<()> {
    let rounds = if quick { 10 } else { 40 };
    let allow = ["settings".to_owned()];
    client
        .put_secret("bench-db", &value("v0")?, &allow, default)
        .await?;
    let mut req = start_request(0)?;
    req.secrets = [("db".to_owned(), "bench-db".to_owned())].into();
    let actor = client.start_actor(host.id(), req).await?.actor_id;
    // Created as floe-lattice creates buckets (async-nats' own create
    // cannot read nats-server 2.9's account info).
    let scratch = floe_lattice::open_kv(&nats.connect().await?, "bench-scratch", "bench").await?;
    let mut watch = scratch.watch("k").await?;
    let (mut floe, mut raw_kv) = (Vec::new(), Vec::new());
    for i in 1..=rounds {
        let text = format!("v{i}");
        let started = Instant::now();
        client
            .put_secret("bench-db", &value(&text)?, &allow, default)
            .await?;
        loop {
            let got = client
                .call(
                    &actor,
                    GET,
                    br#"["db"]"#.to_vec(),
                    floe_wire::Encoding::Json,
                )
                .await?;
            if got == format!("\"{text}\"").as_bytes() {
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(10), "never visible");
        }
        floe.push(started.elapsed());
        let started = Instant::now();
        scratch.put("k", text.clone().into_bytes().into()).await?;
        loop {
            let entry = watch.next().await.context("watch ended")??;
            if entry.value == text.as_bytes() {
                break;
            }
        }
        raw_kv.push(started.elapsed());
    }
    client.stop_actor(host.id(), &actor).await?;
    let (f50, f99) = (percentile(&mut floe, 0.5), percentile(&mut floe, 0.99));
    let (r50, r99) = (percentile(&mut raw_kv, 0.5), percentile(&mut raw_kv, 0.99));
    report.row(
        "secret put → read by a running actor, p50 / p99",
        format!("{:.2} / {:.2} ms", ms(f50), ms(f99)),
        &format!(
            "{rounds} puts (seal on the client, compare-and-set, host watch, open, swap; then a call), interleaved with a raw KV put seen by a raw watch: {:.2} / {:.2} ms",
            ms(r50),
            ms(r99)
        ),
    );
    Ok(())
}

async fn starts(
    client: &CtlClient,
    host: &HostProcess,
    default: &SecretsKey,
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<()> {
    let rounds = if quick { 3 } else { 9 };
    for i in 0..10 {
        client
            .put_secret(
                &format!("bench-{i}"),
                &value("start-secret")?,
                &["settings".to_owned()],
                default,
            )
            .await?;
    }
    let counts = [0usize, 1, 10];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    for _ in 0..rounds {
        for (slot, &count) in counts.iter().enumerate() {
            let started = Instant::now();
            let actor = client
                .start_actor(host.id(), start_request(count)?)
                .await?
                .actor_id;
            times[slot].push(ms(started.elapsed()));
            client.stop_actor(host.id(), &actor).await?;
        }
    }
    for (slot, &count) in counts.iter().enumerate() {
        report.row(
            &format!("actor start (settings, code cached) with {count} secrets"),
            spread(&times[slot], "ms", 2),
            &format!("{rounds} rounds, 0/1/10 interleaved; each secret read from the bucket and opened at start"),
        );
    }
    Ok(())
}

async fn rekey(report: &mut Report, quick: bool) -> anyhow::Result<()> {
    let count = if quick { 1_000 } else { 10_000 };
    let nats = NatsServer::start().await?;
    let lattice = "rekey";
    let next = SecretsKey::generate();
    let seed_file = tempfile::NamedTempFile::new()?;
    std::fs::write(seed_file.path(), next.seed().context("seed")?.as_bytes())?;
    let cache = tempfile::tempdir()?;
    let _host = HostProcess::start(
        nats.url(),
        lattice,
        HostOptions {
            args: vec![
                "--secrets-key".into(),
                "cluster".into(),
                "--secrets-key".into(),
                seed_file.path().display().to_string(),
            ],
            cache_dir: Some(cache.path().to_owned()),
            ..HostOptions::default()
        },
    )
    .await?;
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(30));
    let default = SecretsKey::derive(&floe_tests::seed_for(lattice), &lattice.parse()?);
    let secrets = client.secrets().await?;
    let filled = Instant::now();
    let secret = value("a value to re-seal")?;
    futures::stream::iter(0..count)
        .map(|i| {
            let (secrets, secret, default) = (&secrets, &secret, &default);
            async move {
                secrets
                    .put(&format!("s{i}"), secret, &["settings".to_owned()], default)
                    .await
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    eprintln!("  {count} secrets stored in {:?}", filled.elapsed());

    // The floor: the same number of raw get + update pairs, one at a time.
    let raw = floe_lattice::open_kv(&nats.connect().await?, "rekey-raw", "bench").await?;
    for i in 0..count {
        raw.put(format!("s{i}"), vec![0u8; 400].into()).await?;
    }
    let started = Instant::now();
    for i in 0..count {
        let key = format!("s{i}");
        let entry = raw.entry(&key).await?.context("entry")?;
        raw.update(&key, vec![1u8; 400].into(), entry.revision)
            .await?;
    }
    let floor = started.elapsed();

    let started = Instant::now();
    client.rotate_secrets_key(&next).await?;
    loop {
        let record = client.secrets_key_record().await?.context("record")?;
        if record.retiring.is_empty() {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "re-key never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let on_new = secrets
        .list()
        .await?
        .iter()
        .filter(|s| s.key == next.id())
        .count();
    anyhow::ensure!(on_new == count, "{on_new} of {count} re-sealed");
    report.row(
        &format!("full re-key of {count} secrets"),
        format!("{:.2} s", took.as_secs_f64()),
        &format!(
            "leader re-seals each by compare-and-set, one at a time; {:.2} s for {count} raw KV get + update pairs in the same run ({:.2}×)",
            floor.as_secs_f64(),
            took.as_secs_f64() / floor.as_secs_f64()
        ),
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
