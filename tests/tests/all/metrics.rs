//! A host's Prometheus endpoint (`--metrics-addr`): its text parses with a
//! Prometheus text parser and counts exactly the calls a test made, by
//! actor, operation and outcome, with their latencies; provider health
//! shows too.

use std::time::Duration;

use floe_tests::http::HttpClient;
use floe_tests::with_timeout;
use serde_json::json;

use crate::lattice::{ECHO, Lattice};

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(k).is_some_and(|l| l == *v))
        })
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_calls_made() {
    with_timeout(Duration::from_secs(100), async {
        let lattice = Lattice::new().await;
        // Port 0: the host picks a free one and logs where it serves.
        let host = lattice.host(&[], &["--metrics-addr", "127.0.0.1:0"]).await;
        let address = host
            .log()
            .lines()
            .find_map(|l| {
                l.split("metrics at http://")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("the host logs its metrics address:\n{}", host.log()));
        let echo = lattice.start(&host, "echo").await;
        lattice.start_provider(&host, "greeter-native").await;
        for i in 0..3 {
            lattice.assert_echo(&echo, &format!("hi {i}")).await;
        }
        let missing = lattice
            .call_json(&echo, "floe:examples/echo.nope", json!([]))
            .await;
        assert!(missing.is_err());

        let client = HttpClient::new();
        let answer = client
            .get(&format!("http://{address}/metrics"))
            .await
            .expect("scrape");
        assert_eq!(answer.status, 200);
        assert!(
            answer.headers["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with("application/openmetrics-text")),
            "{:?}",
            answer.headers
        );
        let text = answer.text();
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text parses");
        let ok = sample(
            &scrape,
            "floe_invocations_total",
            &[("actor", &echo), ("operation", ECHO), ("outcome", "ok")],
        );
        assert_eq!(ok, Some(3.0), "{text}");
        let failed = sample(
            &scrape,
            "floe_invocations_total",
            &[
                ("actor", &echo),
                ("operation", "unknown"),
                ("outcome", "no_such_operation"),
            ],
        );
        assert_eq!(failed, Some(1.0), "{text}");
        assert_eq!(
            sample(
                &scrape,
                "floe_invocation_duration_seconds_count",
                &[("actor", &echo)]
            ),
            Some(4.0),
            "{text}"
        );
        assert_eq!(
            sample(&scrape, "floe_instances_live", &[("name", "echo")]),
            Some(0.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &scrape,
                "floe_provider_healthy",
                &[("name", "greeter-native")]
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(&scrape, "floe_nats_disconnects_total", &[]),
            Some(0.0),
            "{text}"
        );
        let elsewhere = client
            .get(&format!("http://{address}/"))
            .await
            .expect("answered");
        assert_eq!(elsewhere.status, 404);
    })
    .await;
}
