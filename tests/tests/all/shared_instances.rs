//! Instances of WASI 0.3 actors shared by concurrent calls
//! (`--max-concurrent-per-instance`, docs/operations.md): calls that wait
//! share one instance; a trap fails only the calls of its instance, which
//! is replaced; a guest that never yields is still interrupted at its
//! deadline, with the calls sharing its instance, and the instance after
//! it serves again.

use std::time::{Duration, Instant};

use floe_tests::http::HttpClient;
use floe_tests::{FloeCli, with_timeout};

use crate::ingress::{counters, in_flight, logged_address};
use crate::lattice::Lattice;

/// Sends `count` requests for `path` on the route of `host` at once;
/// their answers, in a task.
fn send(
    base: &str,
    host: &'static str,
    path: &str,
    count: usize,
) -> tokio::task::JoinHandle<Vec<floe_tests::http::Answer>> {
    let url = format!("{base}{path}");
    tokio::spawn(async move {
        let mut calls = Vec::new();
        for _ in 0..count {
            let url = url.clone();
            calls.push(tokio::spawn(async move {
                HttpClient::new()
                    .send("GET", &url, &[("host", host)], Vec::new())
                    .await
                    .expect("ingress answers")
            }));
        }
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.expect("request"));
        }
        answers
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_fails_only_the_calls_sharing_its_instance() {
    with_timeout(Duration::from_secs(120), async {
        let lattice = Lattice::new().await;
        let host = lattice
            .host(
                &[],
                &[
                    "--max-concurrent-per-instance",
                    "4",
                    "--ingress",
                    "127.0.0.1:0",
                ],
            )
            .await;
        let actor = lattice.start(&host, "misbehave-p3").await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        // Waiting calls get time to spare; a spinning one 3 s.
        for (name, timeout) in [("shared", "60s"), ("spin", "3s")] {
            cli.ok(lattice.args(&[
                "ingress",
                "put",
                name,
                "--host",
                &format!("{name}.test"),
                "--target",
                &actor,
                "--request-timeout",
                timeout,
            ]));
        }
        let base = format!("http://{}", logged_address(&host, "ingress"));
        crate::apps::wait_for("both routes serve", Duration::from_secs(10), || async {
            let http = HttpClient::new();
            let mut ok = true;
            for host in ["shared.test", "spin.test"] {
                ok &= http
                    .send("GET", &format!("{base}/"), &[("host", host)], Vec::new())
                    .await
                    .is_ok_and(|a| a.status == 200);
            }
            ok
        })
        .await;
        let (_, made_before) = counters(&lattice, &actor).await;

        // Four waiting calls fill one instance; two more start a second.
        // They wait long enough for the trap to come while they run.
        let first = send(&base, "shared.test", "/wait?ms=20000", 4);
        crate::apps::wait_for("four calls run", Duration::from_secs(10), || async {
            in_flight(&lattice, &actor).await == 4
        })
        .await;
        let second = send(&base, "shared.test", "/wait?ms=15000", 2);
        crate::apps::wait_for("six calls run", Duration::from_secs(10), || async {
            in_flight(&lattice, &actor).await == 6
        })
        .await;
        let (_, made) = counters(&lattice, &actor).await;
        assert!(
            made - made_before <= 2,
            "six waiting calls share at most two instances, not {}",
            made - made_before
        );
        // The trap joins the second instance, the only one with room.
        let trapped = send(&base, "shared.test", "/trap", 1).await.expect("trap");
        assert_eq!(trapped[0].status, 500, "{}", trapped[0].text());
        for answer in second.await.expect("second") {
            assert_eq!(
                answer.status,
                500,
                "a call sharing the trapped instance fails: {}",
                answer.text()
            );
        }
        for answer in first.await.expect("first") {
            assert_eq!(
                answer.status,
                200,
                "calls of another instance never notice: {}",
                answer.text()
            );
            assert!(
                answer.text().contains("/wait?ms=20000"),
                "{}",
                answer.text()
            );
        }
        let after = send(&base, "shared.test", "/after", 1)
            .await
            .expect("after");
        assert_eq!(after[0].status, 200, "{}", after[0].text());

        // A guest that never yields is interrupted at its deadline (3 s),
        // even beside a call allowed a minute: that call fails with it at
        // once instead of waiting behind the loop for its own deadline.
        let started = Instant::now();
        let waiting = send(&base, "shared.test", "/wait?ms=20000", 1);
        crate::apps::wait_for("the waiting call runs", Duration::from_secs(10), || async {
            in_flight(&lattice, &actor).await == 1
        })
        .await;
        let spun = send(&base, "spin.test", "/spin", 1).await.expect("spin");
        assert_eq!(spun[0].status, 504, "{}", spun[0].text());
        let waited = waiting.await.expect("waiting");
        assert_eq!(
            waited[0].status,
            504,
            "the call sharing the loop's instance fails with it: {}",
            waited[0].text()
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "interrupted near the loop's deadline, not after {:?}",
            started.elapsed()
        );
        let again = send(&base, "spin.test", "/again", 1).await.expect("again");
        assert_eq!(again[0].status, 200, "{}", again[0].text());
        assert_eq!(in_flight(&lattice, &actor).await, 0);
    })
    .await;
}
