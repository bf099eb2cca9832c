//! Instance reuse (`floe-host --reuse N`, docs/security.md): off by
//! default, every call gets a fresh instance; with it, HTTP requests
//! through ingress are served by fewer instances than requests, and the
//! inventory counts the instances made. WASI 0.3 instances follow
//! `--max-calls-per-instance` instead.

use std::time::Duration;

use floe_tests::http::HttpClient;
use floe_tests::{FloeCli, with_timeout};

use crate::ingress::{counters, logged_address, signed_hello};
use crate::lattice::Lattice;

/// 64 requests through ingress at `url` for `host`, 16 at a time; each
/// must answer 200.
async fn load(url: &str, host: &str) {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (url, host) = (url.to_owned(), host.to_owned());
        tasks.push(tokio::spawn(async move {
            let http = HttpClient::new();
            for _ in 0..4 {
                let answer = http
                    .send("GET", &format!("{url}/"), &[("host", &host)], Vec::new())
                    .await
                    .expect("ingress answers");
                assert_eq!(answer.status, 200, "{}", answer.text());
            }
        }));
    }
    for task in tasks {
        task.await.expect("requests");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_instances_serve_many_requests_and_the_default_stays_fresh() {
    with_timeout(Duration::from_secs(90), async {
        let lattice = Lattice::new().await;
        let reusing = lattice
            .host(
                &[],
                &[
                    "--reuse",
                    "16",
                    "--max-calls-per-instance",
                    "1",
                    "--ingress",
                    "127.0.0.1:0",
                ],
            )
            .await;
        let fresh = lattice.host(&[], &["--ingress", "127.0.0.1:0"]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let dir = tempfile::tempdir().expect("dir");
        let mut ids = Vec::new();
        for (name, host) in [("warm", &reusing), ("cold", &fresh)] {
            let (id, path) = signed_hello(dir.path(), name);
            cli.ok(lattice.args(&["start", "actor", &path, "--host", host.id()]));
            cli.ok(lattice.args(&[
                "ingress",
                "put",
                name,
                "--host",
                &format!("{name}.test"),
                "--target",
                &id,
            ]));
            ids.push(id);
        }
        let warm_url = format!("http://{}", logged_address(&reusing, "ingress"));
        let cold_url = format!("http://{}", logged_address(&fresh, "ingress"));
        crate::apps::wait_for("both routes serve", Duration::from_secs(10), || async {
            let http = HttpClient::new();
            let mut ok = true;
            for (url, host) in [(&warm_url, "warm.test"), (&cold_url, "cold.test")] {
                ok &= http
                    .send("GET", &format!("{url}/"), &[("host", host)], Vec::new())
                    .await
                    .is_ok_and(|a| a.status == 200);
            }
            ok
        })
        .await;

        let (warm_before, warm_made_before) = counters(&lattice, &ids[0]).await;
        load(&warm_url, "warm.test").await;
        let (calls, made) = counters(&lattice, &ids[0]).await;
        let (calls, made) = (calls - warm_before, made - warm_made_before);
        assert_eq!(calls, 64);
        // 16 at a time: at most 16 instances at once, each serving up to
        // 16 requests.
        assert!(
            made <= 32 && made < calls,
            "{made} instances for {calls} requests"
        );
        eprintln!("--reuse 16: {made} instances served {calls} requests");

        // A WASI 0.3 component's instances are shared by concurrent calls
        // whatever `--reuse` says; `--max-calls-per-instance 1` makes them
        // fresh per call.
        let p3 = lattice.start(&reusing, "http-hello-p3").await;
        cli.ok(lattice.args(&["ingress", "put", "p3", "--host", "p3.test", "--target", &p3]));
        crate::apps::wait_for("the p3 route serves", Duration::from_secs(10), || async {
            HttpClient::new()
                .send(
                    "GET",
                    &format!("{warm_url}/"),
                    &[("host", "p3.test")],
                    Vec::new(),
                )
                .await
                .is_ok_and(|a| a.status == 200)
        })
        .await;
        load(&warm_url, "p3.test").await;
        let (calls, made) = counters(&lattice, &p3).await;
        assert_eq!(
            made, calls,
            "--max-calls-per-instance 1: {made} instances for {calls} WASI 0.3 requests"
        );

        let (cold_before, cold_made_before) = counters(&lattice, &ids[1]).await;
        load(&cold_url, "cold.test").await;
        let (calls, made) = counters(&lattice, &ids[1]).await;
        assert_eq!(
            (calls - cold_before, made - cold_made_before),
            (64, 64),
            "by default every request gets a fresh instance"
        );
    })
    .await;
}
