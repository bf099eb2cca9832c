//! A host in this test's own process (`floe_host::Host::start`) on a real
//! nats-server: the control interface, the actors' lifecycle and the
//! invocation path reached without a child process, and a graceful stop
//! that answers the call in flight, then says goodbye.

use std::time::Duration;

use clap::Parser as _;
use floe_host::{Host, HostConfig};
use floe_tests::{paths, seed_for, with_timeout};
use floe_wire::control::ControlCode;
use floe_wire::{ErrorKind, EventType};
use futures::StreamExt as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::lattice::{ECHO, Lattice, start_request};

const LIMIT: Duration = Duration::from_secs(60);

#[derive(clap::Parser)]
struct Flags {
    #[command(flatten)]
    config: HostConfig,
}

fn config(lattice: &Lattice, home: &std::path::Path) -> HostConfig {
    let seed = seed_for(&lattice.name);
    let home = home.to_str().expect("utf8");
    let cache = lattice.cache.path().to_str().expect("utf8");
    Flags::try_parse_from([
        "floe-host",
        "--nats-url",
        lattice.nats.url(),
        "--lattice",
        &lattice.name,
        "--cluster-seed",
        &seed,
        "--home",
        home,
        "--cache-dir",
        cache,
        "--heartbeat",
        "200ms",
        "--shutdown-timeout",
        "5s",
    ])
    .expect("flags parse")
    .config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_host_serves_and_stops_gracefully() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let home = tempfile::tempdir().expect("home");
        let stop = CancellationToken::new();
        let host = Host::start(config(&lattice, home.path()), stop.clone())
            .await
            .expect("the host starts in process");
        let id = host.id().to_owned();
        let running = tokio::spawn(host.run_until_stopped());

        // Control → lifecycle → rpc, in this process, at once: `start`
        // returns once the server has registered the control subscriptions.
        let echo = paths::actor("echo").expect("echo");
        let started = lattice
            .client
            .start_actor(&id, start_request(&echo, None))
            .await
            .expect("echo starts");
        lattice.assert_echo(&started.actor_id, "in process").await;
        let misbehave = paths::actor("misbehave").expect("misbehave");
        let spinner = lattice
            .client
            .start_actor(&id, start_request(&misbehave, None))
            .await
            .expect("misbehave starts")
            .actor_id;
        let refused = lattice.client.stop_actor(&id, "MNOSUCHACTOR").await;
        assert!(
            matches!(&refused, Err(floe_ctl::CtlError::Refused(r)) if r.code == ControlCode::NotFound),
            "{refused:?}"
        );
        let inventory = lattice.client.inventory(&id).await.expect("inventory");
        assert_eq!(inventory.actors.len(), 2);
        assert_eq!(inventory.host.host_id, id);

        // A call in flight when the stop comes is still answered: the spin
        // runs into its deadline and the host replies `timed_out`.
        let conn = lattice.nats.connect().await.expect("connect");
        let short = floe_tests::client(conn, &lattice.name, Duration::from_secs(2));
        let in_flight = Lattice::spawn_spin(&short, &spinner);
        loop {
            let inventory = lattice.client.inventory(&id).await.expect("inventory");
            if inventory.actors.iter().any(|a| a.in_flight > 0) {
                break;
            }
            tokio::task::yield_now().await;
        }
        let mut goodbyes = lattice.events(EventType::HostStopped).await;
        stop.cancel();
        let answered = in_flight.await.expect("task");
        match answered {
            Err(floe_ctl::CtlError::Invocation(e)) => assert_eq!(e.kind, ErrorKind::TimedOut, "{e}"),
            other => panic!("the call in flight is answered timed_out, got {other:?}"),
        }
        running.await.expect("the host stops");
        let goodbye = goodbyes.next().await.expect("host_stopped");
        floe_tests::auth_for(&lattice.name)
            .verify(&goodbye)
            .expect("sealed by the host");
        let event: serde_json::Value = serde_json::from_slice(&goodbye.payload).expect("json");
        assert_eq!(event["source"], json!(id));
        // Nothing serves the actors any more.
        let gone = lattice.call_json(&started.actor_id, ECHO, json!(["x"])).await;
        assert!(matches!(gone, Err(floe_ctl::CtlError::NotFound(_))), "{gone:?}");
    })
    .await;
}
