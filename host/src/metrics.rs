//! The host's Prometheus metrics, served as OpenMetrics text on
//! `--metrics-addr` (`GET /metrics`):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `floe_invocations_total` | counter | `actor`, `name`, `operation`, `outcome` (`ok` or the error kind) |
//! | `floe_invocation_duration_seconds` | histogram | `actor`, `name` |
//! | `floe_instances_live` | gauge | `actor`, `name`: calls running now |
//! | `floe_actor_dormant` | gauge | `actor`, `name`: 1 dormant (code freed), 0 active |
//! | `floe_actor_cold_starts` | gauge | `actor`, `name`: calls that found it dormant and loaded its code |
//! | `floe_cold_start_seconds` | histogram | — : time to load a dormant actor's code |
//! | `floe_provider_healthy` | gauge | `provider`, `name`: 1 healthy, 0 not |
//! | `floe_provider_restarts` | gauge | `provider`, `name` |
//! | `floe_nats_disconnects_total`, `floe_nats_reconnects_total` | counter | — |
//!
//! Operations an actor does not export are counted as `operation="unknown"`
//! so a caller cannot grow the label set at will.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use floe_wire::ErrorKind;
use floe_wire::control::{ProviderHealth, ReplicaState};
use http_body_util::Full;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::status::Status;
use crate::tasks::Tasks;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InvocationLabels {
    actor: String,
    name: String,
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActorLabels {
    actor: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngressLabels {
    via: &'static str,
}

/// Where an ingress request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngressVia {
    /// Run on this host, in process: no NATS.
    Local,
    /// Sent over the lattice to another replica.
    Lattice,
    /// Matched no route.
    Unrouted,
}

/// Latency buckets: 100 µs to 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0,
    ])
}

/// One invocation, as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub actor: &'a str,
    pub name: &'a str,
    pub operation: &'a str,
    /// The actor exports `operation` (else it is counted as `unknown`).
    pub exported: bool,
    pub outcome: Result<(), ErrorKind>,
    pub elapsed: Duration,
}

/// Every metric of one host.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    invocations: Family<InvocationLabels, Counter>,
    latency: Family<ActorLabels, Histogram, fn() -> Histogram>,
    instances: Family<ActorLabels, Gauge>,
    dormant: Family<ActorLabels, Gauge>,
    cold_starts: Family<ActorLabels, Gauge>,
    cold_start_seconds: Histogram,
    provider_healthy: Family<ProviderLabels, Gauge>,
    provider_restarts: Family<ProviderLabels, Gauge>,
    nats_disconnects: Counter,
    nats_reconnects: Counter,
    ingress: Family<IngressLabels, Counter>,
    /// The first `Connected` is the connection, not a reconnection.
    connected_once: std::sync::atomic::AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("floe");
        let invocations = Family::<InvocationLabels, Counter>::default();
        let latency = Family::<ActorLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let instances = Family::<ActorLabels, Gauge>::default();
        let dormant = Family::<ActorLabels, Gauge>::default();
        let cold_starts = Family::<ActorLabels, Gauge>::default();
        let cold_start_seconds = latency_histogram();
        let provider_healthy = Family::<ProviderLabels, Gauge>::default();
        let provider_restarts = Family::<ProviderLabels, Gauge>::default();
        let nats_disconnects = Counter::default();
        let nats_reconnects = Counter::default();
        registry.register(
            "invocations",
            "Invocations answered, by actor, operation and outcome",
            invocations.clone(),
        );
        registry.register(
            "invocation_duration_seconds",
            "Time from taking an invocation to its answer",
            latency.clone(),
        );
        registry.register(
            "instances_live",
            "Actor instances running a call now",
            instances.clone(),
        );
        registry.register(
            "actor_dormant",
            "1 when the actor's code is freed until its next call, else 0",
            dormant.clone(),
        );
        registry.register(
            "actor_cold_starts",
            "Calls that found the actor dormant and loaded its code",
            cold_starts.clone(),
        );
        registry.register(
            "cold_start_seconds",
            "Time to load a dormant actor's code for a call",
            cold_start_seconds.clone(),
        );
        registry.register(
            "provider_healthy",
            "1 when the provider answers health checks, else 0",
            provider_healthy.clone(),
        );
        registry.register(
            "provider_restarts",
            "Times the host started the provider again",
            provider_restarts.clone(),
        );
        registry.register(
            "nats_disconnects",
            "Times the NATS connection was lost",
            nats_disconnects.clone(),
        );
        registry.register(
            "nats_reconnects",
            "Times the NATS connection came back",
            nats_reconnects.clone(),
        );
        let ingress = Family::<IngressLabels, Counter>::default();
        registry.register(
            "ingress_requests",
            "Ingress requests, by where they ran: local (in process), lattice, unrouted",
            ingress.clone(),
        );
        Metrics {
            registry,
            invocations,
            latency,
            instances,
            dormant,
            cold_starts,
            cold_start_seconds,
            provider_healthy,
            provider_restarts,
            nats_disconnects,
            nats_reconnects,
            ingress,
            connected_once: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Counts one answered invocation.
    pub fn invocation(&self, call: Invocation<'_>) {
        // Only names the actor exports become labels: a caller cannot grow
        // the label set, whatever the outcome.
        let operation = if call.exported {
            call.operation
        } else {
            "unknown"
        };
        let outcome = match call.outcome {
            Ok(()) => "ok",
            Err(kind) => kind.as_str(),
        };
        self.invocations
            .get_or_create(&InvocationLabels {
                actor: call.actor.to_owned(),
                name: call.name.to_owned(),
                operation: operation.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.latency
            .get_or_create(&ActorLabels {
                actor: call.actor.to_owned(),
                name: call.name.to_owned(),
            })
            .observe(call.elapsed.as_secs_f64());
    }

    /// Counts one ingress request.
    pub fn ingress(&self, via: IngressVia) {
        let via = match via {
            IngressVia::Local => "local",
            IngressVia::Lattice => "lattice",
            IngressVia::Unrouted => "unrouted",
        };
        self.ingress.get_or_create(&IngressLabels { via }).inc();
    }

    /// Times one wake of a dormant actor.
    pub fn cold_start(&self, elapsed: Duration) {
        self.cold_start_seconds.observe(elapsed.as_secs_f64());
    }

    /// Follows the NATS connection's state.
    pub fn nats_event(&self, event: &async_nats::Event) {
        match event {
            async_nats::Event::Disconnected => {
                self.nats_disconnects.inc();
            }
            async_nats::Event::Connected
                if self
                    .connected_once
                    .swap(true, std::sync::atomic::Ordering::Relaxed) =>
            {
                self.nats_reconnects.inc();
            }
            _ => {}
        }
    }

    /// The text a scrape gets, with the gauges read from the host now.
    pub fn render(&self, status: &Status) -> String {
        self.instances.clear();
        self.dormant.clear();
        self.cold_starts.clear();
        for actor in status.actors.all() {
            let described = actor.describe();
            let labels = ActorLabels {
                actor: described.actor_id,
                name: described.name,
            };
            self.instances
                .get_or_create(&labels)
                .set(i64::try_from(described.in_flight).unwrap_or(i64::MAX));
            self.dormant
                .get_or_create(&labels)
                .set(i64::from(described.state == ReplicaState::Dormant));
            self.cold_starts
                .get_or_create(&labels)
                .set(i64::try_from(described.cold_starts).unwrap_or(i64::MAX));
        }
        self.provider_healthy.clear();
        self.provider_restarts.clear();
        for provider in status.providers.all() {
            let described = provider.describe();
            let labels = ProviderLabels {
                provider: described.provider_id,
                name: described.name,
            };
            self.provider_healthy
                .get_or_create(&labels)
                .set(i64::from(described.health == ProviderHealth::Healthy));
            self.provider_restarts
                .get_or_create(&labels)
                .set(i64::from(described.restarts));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve metrics on {address}: {reason} (pick another --metrics-addr)")]
pub struct MetricsError {
    address: SocketAddr,
    reason: String,
}

/// Serves `GET /metrics` on `address` until the host stops.
/// Scrapers served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 32;

/// A client that does not send a request's headers in this time is
/// disconnected (a slow-loris cannot hold a connection).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn serve(
    metrics: Arc<Metrics>,
    status: Status,
    tasks: &Tasks,
    address: SocketAddr,
) -> Result<SocketAddr, MetricsError> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| MetricsError {
            address,
            reason: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| MetricsError {
        address,
        reason: e.to_string(),
    })?;
    let spawner = tasks.clone();
    crate::accept::spawn(
        listener,
        tasks,
        MAX_CONNECTIONS,
        "metrics",
        move |stream, _, permit| {
            let (metrics, status, stopping) = (metrics.clone(), status.clone(), spawner.clone());
            spawner.spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let text =
                        (request.uri().path() == "/metrics").then(|| metrics.render(&status));
                    async move { Ok::<_, std::convert::Infallible>(answer(text)) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(io, service);
                // A kept-alive scraper must not hold up a stop.
                tokio::select! {
                    _ = connection => {}
                    () = stopping.stopping() => {}
                }
                drop(permit);
            });
        },
    );
    Ok(local)
}

/// The response to a scrape of `/metrics` (`text`), or to any other path.
fn answer(text: Option<String>) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::new()));
    let Some(text) = text else {
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        *response.body_mut() = Full::new(Bytes::from_static(b"metrics are at /metrics\n"));
        return response;
    };
    *response.body_mut() = Full::new(Bytes::from(text));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_are_counted_with_bounded_labels() {
        let metrics = Metrics::new();
        let call = |operation, outcome: Result<(), ErrorKind>| Invocation {
            actor: "MA",
            name: "echo",
            operation,
            exported: outcome.is_ok(),
            outcome,
            elapsed: Duration::from_micros(300),
        };
        metrics.invocation(call("floe:examples/echo.echo", Ok(())));
        metrics.invocation(call("floe:examples/echo.echo", Ok(())));
        metrics.invocation(call("made-up-1", Err(ErrorKind::NoSuchOperation)));
        metrics.invocation(call("made-up-2", Err(ErrorKind::NoSuchOperation)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).expect("encode");
        assert!(
            text.contains(
                r#"floe_invocations_total{actor="MA",name="echo",operation="floe:examples/echo.echo",outcome="ok"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"floe_invocations_total{actor="MA",name="echo",operation="unknown",outcome="no_such_operation"} 2"#
            ),
            "{text}"
        );
        assert!(!text.contains("made-up"), "{text}");
        assert!(
            text.contains(r#"floe_invocation_duration_seconds_count{actor="MA",name="echo"} 4"#),
            "{text}"
        );
    }
}
