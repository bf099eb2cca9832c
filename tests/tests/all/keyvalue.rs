//! `wasi:keyvalue` through a provider: counters kept in NATS JetStream KV by
//! `keyvalue-nats` replicas on two hosts stay exact under concurrent
//! increments from both hosts, survive a SIGKILL of a replica with no
//! acknowledged increment lost, and respect the link's bucket allow-list.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use floe_tests::{paths, with_timeout};
use floe_wire::KeyKind;
use floe_wire::control::{CONTROL_VERSION, StartProviderRequest};
use floe_wire::{Encoding, Link};
use serde_json::json;

use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(120);
const INCREMENT: &str = "floe:examples/counter.increment";
const GET: &str = "floe:examples/counter.get";

async fn call(
    client: &floe_ctl::CtlClient,
    actor: &str,
    op: &str,
    name: &str,
) -> Result<serde_json::Value, floe_ctl::CtlError> {
    let bytes = client
        .call(
            actor,
            op,
            serde_json::to_vec(&json!([name])).expect("json"),
            Encoding::Json,
        )
        .await?;
    Ok(serde_json::from_slice(&bytes).expect("json"))
}

pub(crate) fn kv_link(counter: &str, provider: &str, buckets: &str) -> Link {
    let mut link = Link::new(counter, provider, "wasi:keyvalue", &["store", "atomics"]);
    link.target_config
        .insert("buckets".to_owned(), buckets.to_owned());
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_stay_exact_across_hosts_and_a_killed_replica() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let fast = [
            "--invocation-timeout",
            "60s",
            "--provider-health-interval",
            "200ms",
            "--provider-shutdown-grace",
            "2s",
        ];
        let (a, mut b) = (
            lattice.host(&[], &fast).await,
            lattice.host(&[], &fast).await,
        );
        // Two replicas of one provider: one id, from one seed.
        let seed = KeyKind::Provider.generate().seed().expect("seed");
        let mut provider = String::new();
        for host in [&a, &b] {
            let req = StartProviderRequest {
                v: CONTROL_VERSION,
                reference: paths::bin("keyvalue-nats")
                    .expect("built")
                    .display()
                    .to_string(),
                provider_key: Some(seed.clone()),
                config: Default::default(),
                annotations: Default::default(),
                secrets: Default::default(),
            };
            provider = lattice
                .client
                .start_provider(host.id(), req)
                .await
                .unwrap_or_else(|e| panic!("keyvalue-nats starts: {e}\n{}", host.log()))
                .provider_id;
        }
        let counter = lattice.start(&a, "counter").await;
        lattice.start(&b, "counter").await;
        lattice
            .client
            .put_link(&kv_link(&counter, &provider, "counters"))
            .await
            .expect("link put");
        let started = Instant::now();
        while !call(&lattice.client, &counter, INCREMENT, "warmup")
            .await
            .is_ok_and(|v| v.get("ok").is_some())
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the link never applied"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            call(&lattice.client, &counter, GET, "never")
                .await
                .expect("get"),
            json!({"ok": null})
        );

        // 300 increments at once, spread over both hosts and both replicas.
        let patient = lattice.client_with_timeout(Duration::from_secs(60)).await;
        let calls = (0..300).map(|_| call(&patient, &counter, INCREMENT, "a"));
        let results = futures::future::join_all(calls).await;
        let values: BTreeSet<u64> = results
            .iter()
            .map(|r| {
                r.as_ref().expect("increments succeed")["ok"]
                    .as_u64()
                    .expect("a count")
            })
            .collect();
        assert_eq!(
            values,
            (1..=300).collect::<BTreeSet<u64>>(),
            "each increment saw its own value"
        );
        assert_eq!(
            call(&lattice.client, &counter, GET, "a")
                .await
                .expect("get"),
            json!({"ok": 300})
        );
        let inv_a = lattice.client.inventory(a.id()).await.expect("inventory");
        let inv_b = lattice.client.inventory(b.id()).await.expect("inventory");
        let served: u64 = [&inv_a, &inv_b].iter().map(|inv| inv.actors[0].calls).sum();
        assert!(
            inv_a.actors[0].calls > 0 && inv_b.actors[0].calls > 0,
            "both hosts served: {served}"
        );

        // SIGKILL one replica while calls go on: some may fail while it is
        // down, but every acknowledged increment is counted.
        let pid = inv_a.providers[0].pid.expect("pid");
        let load = async {
            let (mut acknowledged, mut failed) = (0u64, 0u64);
            for _ in 0..100 {
                match call(&lattice.client, &counter, INCREMENT, "b").await {
                    Ok(v) if v.get("ok").is_some() => acknowledged += 1,
                    _ => failed += 1,
                }
            }
            (acknowledged, failed)
        };
        let kill = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .expect("kill");
        };
        let ((acknowledged, failed), ()) = tokio::join!(load, kill);
        let total = call(&lattice.client, &counter, GET, "b")
            .await
            .expect("get")["ok"]
            .as_u64()
            .unwrap_or(0);
        // A call that failed may still have counted (killed after the write,
        // before the reply); an acknowledged one always did.
        assert!(
            acknowledged <= total && total <= acknowledged + failed,
            "acknowledged {acknowledged}, failed {failed}, counted {total}"
        );
        assert!(acknowledged > 50, "calls went on: {acknowledged}");

        // A host killed outright cannot stop its providers: they notice
        // their parent is gone and stop themselves.
        let orphan = inv_b.providers[0].pid.expect("pid");
        b.kill();
        let started = Instant::now();
        while std::path::Path::new(&format!("/proc/{orphan}")).exists()
            && !std::fs::read_to_string(format!("/proc/{orphan}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "provider {orphan} outlived its host"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // The link's allow-list: `counters` is no longer allowed.
        lattice
            .client
            .put_link(&kv_link(&counter, &provider, "other"))
            .await
            .expect("link put");
        let started = Instant::now();
        loop {
            let v = call(&lattice.client, &counter, INCREMENT, "a")
                .await
                .expect("a typed answer");
            if v["err"].as_str().is_some_and(|e| e.contains("denied")) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "never denied: {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}
