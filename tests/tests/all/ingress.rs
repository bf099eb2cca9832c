//! Ingress in the hosts (docs/ingress.md): one listener on a host started
//! with `--ingress`, routes by host and path to many actors with Gateway
//! API precedence, a local replica run in process (no NATS), a replica
//! elsewhere reached over the lattice, route changes applied live,
//! conflicts refused, a stopped target answered 503 at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use floe_tests::http::HttpClient;
use floe_tests::{FloeCli, HostProcess, paths, with_timeout};

use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(150);

/// The address a host logged for `what` (`ingress at http://…/`).
pub fn logged_address(host: &HostProcess, what: &str) -> String {
    host.log()
        .lines()
        .find_map(|l| {
            l.split(&format!("{what} at "))
                .nth(1)
                .and_then(|rest| {
                    rest.strip_prefix("https://")
                        .or_else(|| rest.strip_prefix("http://"))
                })
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("the host logs its {what} address:\n{}", host.log()))
}

/// `http-hello` signed as a new actor named `name`, written to `dir`.
pub fn signed_hello(dir: &std::path::Path, name: &str) -> (String, String) {
    let code = std::fs::read(paths::actor("http-hello").expect("http-hello")).expect("read");
    let issuer = nkeys::KeyPair::new_account();
    let (id, signed) = floe_tests::sign_as_new_actor(&code, &issuer, name, &[]).expect("sign");
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, signed).expect("write");
    (id, path.display().to_string())
}

/// How every host describes `actor`.
async fn descriptions(lattice: &Lattice, actor: &str) -> Vec<floe_wire::control::ActorDescription> {
    lattice
        .client
        .inventories(Duration::from_millis(300))
        .await
        .expect("inventories")
        .into_iter()
        .flat_map(|i| i.actors.into_iter().filter(|a| a.actor_id == actor))
        .collect()
}

/// Calls answered by `actor` on every host, and the instances made for
/// them.
pub async fn counters(lattice: &Lattice, actor: &str) -> (u64, u64) {
    descriptions(lattice, actor)
        .await
        .iter()
        .fold((0, 0), |(calls, made), a| {
            (calls + a.calls, made + a.instances)
        })
}

/// Calls of `actor` running now, on every host.
pub async fn in_flight(lattice: &Lattice, actor: &str) -> u64 {
    descriptions(lattice, actor)
        .await
        .iter()
        .map(|a| a.in_flight)
        .sum()
}

/// Calls answered by `actor` on every host.
pub async fn calls(lattice: &Lattice, actor: &str) -> u64 {
    counters(lattice, actor).await.0
}

/// A counter of the ingress host's metrics.
async fn ingress_count(http: &HttpClient, metrics: &str, via: &str) -> f64 {
    let text = http
        .get(&format!("http://{metrics}/metrics"))
        .await
        .expect("scrape")
        .text();
    text.lines()
        .find(|l| l.starts_with(&format!("floe_ingress_requests_total{{via=\"{via}\"}}")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

struct Setup {
    lattice: Lattice,
    ingress: HostProcess,
    other: HostProcess,
    cli: FloeCli,
    url: String,
    metrics: String,
    a: String,
    b: String,
    c: String,
    _dir: tempfile::TempDir,
}

/// One ingress host running A and B, another running C, and the routes of
/// the acceptance list.
async fn setup() -> Setup {
    let lattice = Lattice::new().await;
    let ingress = lattice
        .host(
            &[],
            &["--ingress", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"],
        )
        .await;
    let other = lattice.host(&[], &[]).await;
    let dir = tempfile::tempdir().expect("dir");
    let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
    let mut ids = Vec::new();
    for (name, host) in [("a", &ingress), ("b", &ingress), ("c", &other)] {
        let (id, path) = signed_hello(dir.path(), name);
        cli.ok(lattice.args(&["start", "actor", &path, "--host", host.id()]));
        ids.push(id);
    }
    let (a, b, c) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    for route in [
        vec![
            "a",
            "--host",
            "a.example.com",
            "--path",
            "/",
            "--target",
            &a,
        ],
        vec![
            "b",
            "--host",
            "b.example.com",
            "--path",
            "/api",
            "--target",
            &b,
        ],
        vec![
            "static",
            "--host",
            "*.example.com",
            "--path",
            "/static",
            "--target",
            &c,
        ],
        vec![
            "c-exact",
            "--host",
            "b.example.com",
            "--path",
            "/api/v2/exact",
            "--exact",
            "--target",
            &c,
        ],
    ] {
        let mut args = vec!["ingress", "put"];
        args.extend(route);
        cli.ok(lattice.args(&args));
    }
    let url = format!("http://{}", logged_address(&ingress, "ingress"));
    let metrics = logged_address(&ingress, "metrics");
    // Routes are applied from the watch: wait until the last one serves.
    let http = HttpClient::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = http
            .send(
                "GET",
                &format!("{url}/api/v2/exact"),
                &[("host", "b.example.com")],
                Vec::new(),
            )
            .await
            .expect("ingress answers");
        if answer.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "routes applied within 10 s: {}",
            ingress.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Setup {
        lattice,
        ingress,
        other,
        cli,
        url,
        metrics,
        a,
        b,
        c,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_pick_actors_by_host_and_path_and_local_replicas_skip_nats() {
    with_timeout(LIMIT, async {
        let s = setup().await;
        let http = HttpClient::new();
        let (local_before, lattice_before) = (
            ingress_count(&http, &s.metrics, "local").await,
            ingress_count(&http, &s.metrics, "lattice").await,
        );
        let cases: [(&str, &str, Option<&str>); 9] = [
            ("a.example.com", "/", Some(&s.a)),
            // The exact host beats the wildcard, even on the wildcard's path.
            ("a.example.com", "/static/app.js", Some(&s.a)),
            ("b.example.com", "/api/users", Some(&s.b)),
            ("b.example.com", "/apix", None),
            // The exact path beats every prefix that also matches.
            ("b.example.com", "/api/v2/exact", Some(&s.c)),
            ("b.example.com", "/api/v2", Some(&s.b)),
            // The wildcard: any one label or more, across the lattice.
            ("x.example.com", "/static/y", Some(&s.c)),
            ("deep.x.example.com", "/static", Some(&s.c)),
            ("example.com", "/static", None),
        ];
        let (mut local, mut remote) = (0.0, 0.0);
        for (host, path, expected) in cases {
            let before = match expected {
                Some(actor) => calls(&s.lattice, actor).await,
                None => 0,
            };
            let answer = http
                .send(
                    "GET",
                    &format!("{}{path}", s.url),
                    &[("host", host)],
                    Vec::new(),
                )
                .await
                .expect("ingress answers");
            match expected {
                Some(actor) => {
                    assert_eq!(answer.status, 200, "{host}{path}: {}", answer.text());
                    assert_eq!(answer.text(), "hello from floe\n");
                    assert_eq!(
                        calls(&s.lattice, actor).await,
                        before + 1,
                        "{host}{path} reached its actor"
                    );
                    if actor == s.c {
                        remote += 1.0;
                    } else {
                        local += 1.0;
                    }
                }
                None => {
                    assert_eq!(answer.status, 404, "{host}{path}");
                    assert!(
                        answer.text().contains("\"error\":\"no route\""),
                        "{}",
                        answer.text()
                    );
                }
            }
        }
        // A and B ran in process; C crossed the lattice.
        assert_eq!(
            ingress_count(&http, &s.metrics, "local").await - local_before,
            local
        );
        assert_eq!(
            ingress_count(&http, &s.metrics, "lattice").await - lattice_before,
            remote
        );

        // The actor sees where the request came from.
        let answer = http
            .send(
                "GET",
                &format!("{}/headers", s.url),
                &[("host", "a.example.com")],
                Vec::new(),
            )
            .await
            .expect("headers");
        let text = answer.text();
        for expected in [
            "x-forwarded-for: 127.0.0.1",
            "x-forwarded-host: a.example.com",
            "x-forwarded-proto: http",
            "traceparent: 00-",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }

        // `floe ingress test` explains the winner.
        let out =
            s.cli.ok(s
                .lattice
                .args(&["ingress", "test", "http://b.example.com/api/v2/exact"]));
        assert!(
            out.contains("route c-exact") && out.contains("the exact path"),
            "{out}"
        );

        // The same match under another name is refused, naming the owner.
        let out = s.cli.run(s.lattice.args(&[
            "ingress",
            "put",
            "dup",
            "--host",
            "b.example.com",
            "--path",
            "/api/",
            "--target",
            &s.a,
        ]));
        assert!(!out.success);
        assert_eq!(out.code, Some(6), "{}", out.stderr);
        assert!(
            out.stderr.contains("what route b matches"),
            "{}",
            out.stderr
        );

        // A stopped target: 503 at once; the other routes keep serving.
        s.cli.ok(s.lattice.args(&["stop", "actor", &s.c]));
        let listed = s.cli.ok(s.lattice.args(&["ingress", "list"]));
        assert!(listed.contains("no replica: 503"), "{listed}");
        let started = Instant::now();
        let answer = http
            .send(
                "GET",
                &format!("{}/static/y", s.url),
                &[("host", "x.example.com")],
                Vec::new(),
            )
            .await
            .expect("answers");
        assert_eq!(answer.status, 503);
        assert_eq!(answer.headers["retry-after"], "1");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "no hang: {:?}",
            started.elapsed()
        );
        let answer = http
            .send(
                "GET",
                &format!("{}/", s.url),
                &[("host", "a.example.com")],
                Vec::new(),
            )
            .await
            .expect("answers");
        assert_eq!(answer.status, 200);

        // A deleted route (a sealed tombstone) stops matching at once.
        s.cli.ok(s.lattice.args(&["ingress", "del", "static"]));
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let answer = http
                .send(
                    "GET",
                    &format!("{}/static/y", s.url),
                    &[("host", "x.example.com")],
                    Vec::new(),
                )
                .await
                .expect("answers");
            if answer.status == 404 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the deleted route is gone within 1 s"
            );
        }
        let out = s.cli.run(s.lattice.args(&["ingress", "del", "static"]));
        assert_eq!(out.code, Some(3), "{}", out.stderr);
        drop(s.other);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_moved_to_another_target_under_load_drops_nothing() {
    with_timeout(LIMIT, async {
        let s = setup().await;
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let mut load = Vec::new();
        for _ in 0..4 {
            let (url, stop, ok, failed) = (s.url.clone(), stop.clone(), ok.clone(), failed.clone());
            load.push(tokio::spawn(async move {
                let http = HttpClient::new();
                let mut errors = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match http
                        .send(
                            "GET",
                            &format!("{url}/"),
                            &[("host", "a.example.com")],
                            Vec::new(),
                        )
                        .await
                    {
                        Ok(answer) if answer.status == 200 => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        other => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            errors.push(format!("{other:?}"));
                        }
                    }
                }
                errors
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let b_before = calls(&s.lattice, &s.b).await;
        s.cli.ok(s.lattice.args(&[
            "ingress",
            "put",
            "a",
            "--host",
            "a.example.com",
            "--path",
            "/",
            "--target",
            &s.b,
        ]));
        // Stored when the CLI returns.
        let changed = Instant::now();
        // B answers a.example.com within a second of the change.
        loop {
            if calls(&s.lattice, &s.b).await > b_before {
                break;
            }
            assert!(
                changed.elapsed() < Duration::from_secs(1),
                "the new target answers within 1 s"
            );
        }
        let moved = changed.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let a_then = calls(&s.lattice, &s.a).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            calls(&s.lattice, &s.a).await,
            a_then,
            "A gets no more of a.example.com"
        );
        stop.store(true, Ordering::Relaxed);
        for task in load {
            let errors = task.await.expect("load");
            assert!(errors.is_empty(), "{errors:?}");
        }
        assert_eq!(failed.load(Ordering::Relaxed), 0);
        assert!(
            ok.load(Ordering::Relaxed) > 100,
            "the load ran: {}",
            ok.load(Ordering::Relaxed)
        );
        eprintln!("new target seen within {moved:?} of the stored route");
        let _ = (&s.ingress, &s.c);
    })
    .await;
}
