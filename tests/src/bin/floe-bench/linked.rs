//! A call that crosses a link and two hosts: the client calls `front` on
//! host A, whose import is routed by link to `greeter` on host B — two NATS
//! round trips and two fresh instances per call.

use std::time::Duration;

use floe_ctl::CtlClient;
use floe_tests::{HostOptions, HostProcess, NatsServer, paths, start_request};
use floe_wire::Encoding;
use floe_wire::Link;

use crate::load::{Baseline, latency, throughput};
use crate::{Report, us};

pub async fn measure(
    nats: &NatsServer,
    lattice: &str,
    host_a: &HostProcess,
    baseline: Baseline,
    report: &mut Report,
    quick: bool,
) -> anyhow::Result<()> {
    let host_b = HostProcess::start(
        nats.url(),
        lattice,
        HostOptions {
            args: ["--max-concurrent", "512", "--queue-depth", "4096"]
                .map(str::to_owned)
                .to_vec(),
            ..HostOptions::default()
        },
    )
    .await?;
    let client = floe_tests::client(nats.connect().await?, lattice, Duration::from_secs(10));
    let front = client
        .start_actor(host_a.id(), start_request(&paths::actor("front")?, None))
        .await?
        .actor_id;
    let greeter = client
        .start_actor(host_b.id(), start_request(&paths::actor("greeter")?, None))
        .await?
        .actor_id;
    client
        .put_link(&Link::new(&front, &greeter, "acme:greet", &["greeter"]))
        .await?;
    // welcome(["Ada"], false): msgpack [["Ada"], false]
    let args = vec![0x92, 0x91, 0xa3, b'A', b'd', b'a', 0xc2];
    let call = |c: CtlClient, f: String, a: Vec<u8>| async move {
        c.call(&f, "acme:greet/front.welcome", a, Encoding::Msgpack)
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    // Wait until every host has applied the link.
    for _ in 0..100 {
        if call(client.clone(), front.clone(), args.clone())
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let n = if quick { 1_000 } else { 5_000 };
    let p50 = latency(n, || call(client.clone(), front.clone(), args.clone())).await?;
    report.row(
        "linked call p50 (client → front on host A → greeter on host B), 1 in flight",
        us(p50),
        &format!(
            "{:.2}× raw NATS p50 (two round trips, two instances)",
            p50.as_secs_f64() / baseline.raw_p50.as_secs_f64()
        ),
    );
    let secs = if quick { 2 } else { 5 };
    let rate = throughput(256, secs, || {
        call(client.clone(), front.clone(), args.clone())
    })
    .await?;
    report.row(
        "linked call throughput, 256 in flight",
        format!("{rate:.0} req/s"),
        &format!("{:.2}× raw NATS request/reply", rate / baseline.raw_rate),
    );
    Ok(())
}
