//! HTTP through the lattice, with real HTTP clients: the `http-server`
//! provider routes requests to actors exporting `wasi:http/incoming-handler`
//! (one written only against the standard WASI WIT), enforces its limits,
//! maps failures to 413/500/503/504, refuses a second link on a held
//! address, closes a listener on link del, and survives malformed HTTP and
//! slow clients; outgoing HTTP needs the claim. The kv-counter demo counts
//! exactly under 1,000 concurrent requests served by two hosts, and a
//! SIGKILLed http-server comes back without losing an increment.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use floe_tests::http::{Answer, HttpClient, free_port, serve_page};
use floe_tests::{FloeCli, with_timeout};
use floe_wire::{EventType, Link};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::lattice::{Lattice, next_event, sigkill};

// Under nextest's own 120 s kill, so this message is the one seen.
const LIMIT: Duration = Duration::from_secs(110);
const FLAGS: [&str; 6] = [
    "--provider-health-interval",
    "200ms",
    "--provider-shutdown-grace",
    "2s",
    "--invocation-timeout",
    "60s",
];

pub(crate) fn http_link(
    server: &str,
    actor: &str,
    name: &str,
    port: u16,
    extra: &[(&str, &str)],
) -> Link {
    let mut link = Link::new(server, actor, "wasi:http", &["incoming-handler"]);
    link.link_name = name.to_owned();
    link.source_config
        .insert("address".into(), format!("127.0.0.1:{port}"));
    for (k, v) in extra {
        link.source_config.insert((*k).into(), (*v).into());
    }
    link
}

pub(crate) fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

/// GETs `url` until it answers with `status` (the link applies
/// asynchronously), within 20 s.
pub(crate) async fn eventually(client: &HttpClient, url: &str, status: u16) -> Answer {
    let started = Instant::now();
    loop {
        let answer = client.get(url).await;
        match &answer {
            Ok(a) if a.status == status => return a.clone(),
            _ if started.elapsed() > Duration::from_secs(20) => {
                panic!("{url} never answered {status}: last {answer:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Sends raw bytes and reads what comes back until the server closes or
/// `wait` passes.
async fn raw_exchange(port: u16, bytes: &[u8], wait: Duration) -> (String, bool) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut received = Vec::new();
    let closed = tokio::time::timeout(wait, stream.read_to_end(&mut received))
        .await
        .is_ok();
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_server_routes_requests_enforces_limits_and_maps_failures() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &FLAGS).await;
        // http-hello is built only against the standard WASI WIT.
        let hello = lattice.start(&host, "http-hello").await;
        // The same code signed with the outgoing-HTTP claim.
        let fetch = lattice.start(&host, "http-fetch").await;
        let server = lattice.start_provider(&host, "http-server").await;
        let (main, second, fetching, stalling) =
            (free_port(), free_port(), free_port(), free_port());
        lattice
            .client
            .put_link(&http_link(
                &server,
                &hello,
                "default",
                main,
                &[("max_body", "1024"), ("timeout", "3s")],
            ))
            .await
            .expect("link put");
        lattice
            .client
            .put_link(&http_link(&server, &fetch, "fetch", fetching, &[]))
            .await
            .expect("link put");
        // A port of its own for the stalling client: its 1 s head timeout
        // also ends idle keep-alive connections, which a pooled client
        // elsewhere could be reusing.
        lattice
            .client
            .put_link(&http_link(
                &server,
                &hello,
                "stalling",
                stalling,
                &[("header_timeout", "1s")],
            ))
            .await
            .expect("link put");
        let client = HttpClient::new();

        let hi = eventually(&client, &url(main, "/"), 200).await;
        assert_eq!(hi.text(), "hello from floe\n");

        // What crossed the wire: method, path and query, authority, headers.
        let seen = client
            .send(
                "GET",
                &url(main, "/headers?x=1"),
                &[("x-test", "yes")],
                Vec::new(),
            )
            .await
            .expect("headers");
        let text = seen.text();
        assert_eq!(
            text.lines().next(),
            Some(format!("GET /headers?x=1 127.0.0.1:{main}").as_str()),
            "{text}"
        );
        assert!(text.lines().any(|l| l == "x-test: yes"), "{text}");

        // Bodies both ways, up to the limit; 413 beyond.
        let body: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let echoed = client
            .post(&url(main, "/echo"), body.clone())
            .await
            .expect("echo");
        assert_eq!(echoed.status, 200);
        assert_eq!(echoed.body, body);
        assert_eq!(echoed.headers["x-echo-length"], "1000");
        let big = client
            .post(&url(main, "/echo"), vec![7; 2000])
            .await
            .expect("answered");
        assert_eq!(big.status, 413, "{}", big.text());
        // Chunked, so no content-length to refuse up front: cut at the limit.
        let chunk = "x".repeat(600);
        let chunked = format!(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
             258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
        );
        let (reply, _) = raw_exchange(main, chunked.as_bytes(), Duration::from_secs(5)).await;
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");

        // An actor failure is a 500 with no internals; a deadline a 504.
        let failed = client.get(&url(main, "/panic")).await.expect("answered");
        assert_eq!(failed.status, 500);
        assert_eq!(failed.text(), "internal server error\n");
        let spun = Instant::now();
        let slow = client.get(&url(main, "/spin")).await.expect("answered");
        assert_eq!(slow.status, 504, "{}", slow.text());
        assert!(
            spun.elapsed() < Duration::from_secs(15),
            "{:?}",
            spun.elapsed()
        );

        // Several links on several ports at once.
        lattice
            .client
            .put_link(&http_link(&server, &hello, "second", second, &[]))
            .await
            .expect("link put");
        eventually(&client, &url(second, "/"), 200).await;
        assert_eq!(client.get(&url(main, "/")).await.expect("main").status, 200);

        // A second link on a held address: refused by the CLI with the
        // reason, and by the provider when written around the CLI; the
        // first link keeps its address.
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let refused = cli.run([
            "link",
            "put",
            "http-server",
            &fetch,
            "wasi:http/incoming-handler",
            "--link-name",
            "third",
            "--source-config",
            &format!("address=127.0.0.1:{main}"),
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--window",
            "300ms",
        ]);
        assert!(!refused.success, "{refused:?}");
        assert!(
            refused.stderr.contains("already served by link `default`"),
            "{}",
            refused.stderr
        );
        let conn = lattice.nats.connect().await.expect("connect");
        let store = floe_lattice::open_bucket(&conn, lattice.client.lattice())
            .await
            .expect("bucket");
        floe_lattice::put_link(
            &store,
            &floe_tests::auth_for(&lattice.name),
            &http_link(&server, &fetch, "third", main, &[]),
        )
        .await
        .expect("raw link put");
        let started = Instant::now();
        while !host.log().contains("is already served by link") {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the provider never refused the link:\n{}",
                host.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Still the unclaimed http-hello on `main` (http-fetch would fetch).
        let (page, _page_server) = serve_page("a page from the test\n").await;
        let target = format!("/fetch?url=http://{page}/");
        let denied = client.get(&url(main, &target)).await.expect("answered");
        assert_eq!(denied.status, 502, "not shadowed: {}", denied.text());
        assert!(
            denied.text().contains("HttpRequestDenied"),
            "{}",
            denied.text()
        );

        // Link del closes the listener.
        lattice
            .client
            .delete_link(&server, "wasi:http", "second")
            .await
            .expect("link del");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", second))
            .await
            .is_ok()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "port {second} still accepts after link del"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // Outgoing HTTP: denied without the claim (above: the guest's own
        // error, reported by it), fetched with it.
        let fetched = eventually(&client, &url(fetching, &target), 200).await;
        assert_eq!(fetched.text(), "a page from the test\n");

        // Malformed HTTP gets hyper's 400; a client that never finishes its
        // request head is cut off; others are served meanwhile.
        let (reply, _) = raw_exchange(main, b"BOGUS\r\n\r\n", Duration::from_secs(5)).await;
        assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
        eventually(&client, &url(stalling, "/"), 200).await;
        let slow_client = tokio::spawn(raw_exchange(
            stalling,
            b"GET / HTTP/1.1\r\nHost: x\r\n",
            Duration::from_secs(10),
        ));
        assert_eq!(client.get(&url(main, "/")).await.expect("main").status, 200);
        let (_, closed) = slow_client.await.expect("slow client");
        assert!(closed, "a client stalling its headers is disconnected");

        // No actor running: 503.
        lattice
            .client
            .stop_actor(host.id(), &hello)
            .await
            .expect("stop");
        let unavailable = eventually(&client, &url(main, "/"), 503).await;
        assert_eq!(unavailable.headers["retry-after"], "1");

        // Its address freed, the link refused earlier is served.
        lattice
            .client
            .delete_link(&server, "wasi:http", "default")
            .await
            .expect("link del");
        let taken = eventually(&client, &url(main, &target), 200).await;
        assert_eq!(taken.text(), "a page from the test\n");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_counter_counts_exactly_across_hosts_and_survives_a_provider_kill() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let (a, b) = (
            lattice.host(&[], &FLAGS).await,
            lattice.host(&[], &FLAGS).await,
        );
        let counter = lattice.start(&a, "kv-counter").await;
        lattice.start(&b, "kv-counter").await;
        let kv = lattice.start_provider(&a, "keyvalue-nats").await;
        let server = lattice.start_provider(&a, "http-server").await;
        let mut kv_link = Link::new(&counter, &kv, "wasi:keyvalue", &["store", "atomics"]);
        kv_link
            .target_config
            .insert("buckets".into(), "counters".into());
        lattice.client.put_link(&kv_link).await.expect("link put");
        let port = free_port();
        lattice
            .client
            .put_link(&http_link(
                &server,
                &counter,
                "default",
                port,
                &[("timeout", "60s"), ("sample_client_traces", "true")],
            ))
            .await
            .expect("link put");
        let client = HttpClient::new();
        assert_eq!(
            eventually(&client, &url(port, "/counter/warm"), 200)
                .await
                .text(),
            "1\n"
        );

        // 1,000 requests at once to one counter, answered by both hosts.
        let target = url(port, "/counter/c");
        let requests = (0..1000).map(|_| client.get(&target));
        let answers = futures::future::join_all(requests).await;
        let values: BTreeSet<u64> = answers
            .iter()
            .map(|a| {
                let a = a.as_ref().expect("answered");
                assert_eq!(a.status, 200, "{}", a.text());
                a.text().trim().parse().expect("a count")
            })
            .collect();
        assert_eq!(values, (1..=1000).collect::<BTreeSet<u64>>());
        let served = |inv: &floe_wire::control::HostInventory| inv.actors[0].calls;
        let inv_a = lattice.client.inventory(a.id()).await.expect("inventory");
        let inv_b = lattice.client.inventory(b.id()).await.expect("inventory");
        assert!(
            served(&inv_a) > 0 && served(&inv_b) > 0,
            "both hosts served: {} and {}",
            served(&inv_a),
            served(&inv_b)
        );

        // One sampled request is one trace: the provider, the host running
        // the actor and the key-value provider each log their span with its
        // trace id.
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let traced = client
            .send(
                "GET",
                &url(port, "/counter/traced"),
                &[("traceparent", &format!("00-{trace_id}-00f067aa0ba902b7-01"))],
                Vec::new(),
            )
            .await
            .expect("answered");
        assert_eq!(traced.status, 200, "{}", traced.text());
        let started = Instant::now();
        loop {
            let logs = format!("{}\n{}", a.log(), b.log());
            let spans: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains(&format!("trace_id={trace_id}")))
                .collect();
            let find = |needle: &str| spans.iter().find(|l| l.contains(needle)).copied();
            if let (Some(front), Some(host), Some(kv)) = (
                find("provider=http-server"),
                find("operation=wasi:http/incoming-handler.handle"),
                find("provider=keyvalue-nats"),
            ) {
                // Each span names its caller's: provider → host → provider.
                let field = |line: &str, name: &str| {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(&format!("{name}=")))
                        .map(|v| v.trim_matches('"').to_owned())
                };
                assert_eq!(
                    field(front, "parent_span").as_deref(),
                    Some("00f067aa0ba902b7")
                );
                assert_eq!(
                    field(host, "parent_span"),
                    field(front, "span_id"),
                    "{host}"
                );
                assert_eq!(field(kv, "parent_span"), field(host, "span_id"), "{kv}");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "spans of trace {trace_id} missing: {spans:#?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // SIGKILL the http-server: restarted with an event, requests resume,
        // and no acknowledged increment is lost.
        let mut restarted = lattice.events(EventType::ProviderRestarted).await;
        let pid = inv_a
            .providers
            .iter()
            .find(|p| p.name == "http-server")
            .and_then(|p| p.pid)
            .expect("http-server pid");
        // Four clients keep calling across the kill.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load: Vec<_> = (0..4)
            .map(|_| {
                let (stop, target) = (stop.clone(), target.clone());
                tokio::spawn(async move {
                    let client = HttpClient::new();
                    let (mut acked, mut failed) = (Vec::new(), 0u64);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match client.get(&target).await {
                            Ok(a) if a.status == 200 => {
                                acked.push(a.text().trim().parse::<u64>().expect("a count"));
                            }
                            _ => {
                                failed += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                    (acked, failed)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        sigkill(pid);
        let event = next_event(&mut restarted).await;
        assert_eq!(event["data"]["provider_id"], server.as_str(), "{event}");
        let fresh = HttpClient::new();
        eventually(&fresh, &url(port, "/counter/warm"), 200).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (mut acked, mut failed) = (Vec::new(), 0u64);
        for task in load {
            let (a, f) = task.await.expect("load task");
            acked.extend(a);
            failed += f;
        }
        let distinct: BTreeSet<u64> = acked.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            acked.len(),
            "every acknowledged count is its own"
        );
        assert!(
            distinct.iter().all(|v| *v > 1000),
            "counting went on from 1,000"
        );
        // Every acknowledged increment is counted; a failed request may or
        // may not have been applied before the kill.
        let last: u64 = eventually(&fresh, &url(port, "/counter/c"), 200)
            .await
            .text()
            .trim()
            .parse()
            .expect("a count");
        let applied = last - 1 - 1000;
        assert!(
            applied >= acked.len() as u64 && applied <= acked.len() as u64 + failed,
            "{applied} applied, {} acknowledged, {failed} failed",
            acked.len()
        );
    })
    .await;
}
