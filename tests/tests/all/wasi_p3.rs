//! WASI 0.3 components (docs/writing-actors.md): `http-hello-p3`, built
//! with the `wasip3` bindings that match wasmtime 48's `wasi:*@0.3.0`,
//! signed like any actor, answers through the `http-server` provider (over
//! the lattice) and through ingress (in process): its `wasi:http/handler`
//! is an `async func` whose body streams from a spawned task, and which
//! streams a request body back. `greeter-async` exports `async func`s
//! answering `floe call` and `front`'s link, reading `wasi:config` and
//! counting in `wasi:keyvalue`.

use std::time::Duration;

use floe_tests::http::{HttpClient, free_port};
use floe_tests::{FloeCli, with_timeout};
use floe_wire::Link;
use serde_json::json;

use crate::http::{eventually, http_link, url};
use crate::ingress::{counters, logged_address};
use crate::lattice::Lattice;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_p3_http_component_answers_through_the_provider_and_ingress() {
    with_timeout(Duration::from_secs(100), async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &["--ingress", "127.0.0.1:0"]).await;
        let p3 = lattice.start(&host, "http-hello-p3").await;
        let server = lattice.start_provider(&host, "http-server").await;
        let port = free_port();
        lattice
            .client
            .put_link(&http_link(&server, &p3, "default", port, &[]))
            .await
            .expect("link put");
        let client = HttpClient::new();

        // Through the provider: a request crosses the lattice to the host.
        let hi = eventually(&client, &url(port, "/x?y=1"), 200).await;
        assert_eq!(hi.text(), "hello from floe (wasi 0.3) at /x?y=1\n");
        let sent = b"0123456789".repeat(10_000);
        let echoed = client
            .send("POST", &url(port, "/echo"), &[], sent.clone())
            .await
            .expect("echo");
        assert_eq!(echoed.status, 200);
        assert_eq!(echoed.body, sent, "the request body streams back whole");

        // 64 requests at once through the provider share instances: each
        // runs up to 16 calls at once (`--max-concurrent-per-instance`).
        let (calls_before, made_before) = counters(&lattice, &p3).await;
        let mut tasks = Vec::new();
        for i in 0..64 {
            let url = url(port, &format!("/c/{i}"));
            tasks.push(tokio::spawn(async move {
                let answer = HttpClient::new().get(&url).await.expect("answers");
                assert_eq!(answer.status, 200, "{}", answer.text());
                assert_eq!(
                    answer.text(),
                    format!("hello from floe (wasi 0.3) at /c/{i}\n")
                );
            }));
        }
        for task in tasks {
            task.await.expect("requests");
        }
        let (calls, made) = counters(&lattice, &p3).await;
        let (calls, made) = (calls - calls_before, made - made_before);
        assert_eq!(calls, 64);
        assert!(made < calls, "{made} instances served {calls} requests");
        eprintln!("WASI 0.3 through the provider: {made} instances served {calls} requests");

        // Through ingress, in process.
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        cli.ok(lattice.args(&["ingress", "put", "p3", "--host", "p3.test", "--target", &p3]));
        let ingress = format!("http://{}", logged_address(&host, "ingress"));
        crate::apps::wait_for("the route serves", Duration::from_secs(10), || async {
            client
                .send(
                    "GET",
                    &format!("{ingress}/"),
                    &[("host", "p3.test")],
                    Vec::new(),
                )
                .await
                .is_ok_and(|a| a.status == 200)
        })
        .await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let ingress = ingress.clone();
            tasks.push(tokio::spawn(async move {
                let client = HttpClient::new();
                let path = format!("/n/{i}");
                let answer = client
                    .send(
                        "GET",
                        &format!("{ingress}{path}"),
                        &[("host", "p3.test")],
                        Vec::new(),
                    )
                    .await
                    .expect("ingress answers");
                assert_eq!(answer.status, 200);
                assert_eq!(
                    answer.text(),
                    format!("hello from floe (wasi 0.3) at {path}\n")
                );
            }));
        }
        for task in tasks {
            task.await.expect("requests");
        }
        let (calls, made) = counters(&lattice, &p3).await;
        assert!(calls >= 83, "{calls} calls");
        assert!(
            made < calls,
            "instances are shared by default: {made} for {calls}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_exports_answer_floe_call_and_a_link_and_use_config_and_keyvalue() {
    with_timeout(Duration::from_secs(100), async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &["--invocation-timeout", "30s"]).await;
        let mut start = floe_tests::start_request(
            &floe_tests::paths::actor("greeter-async").expect("greeter-async"),
            None,
        );
        start.config.insert("greeting".into(), "Howdy".into());
        let greeter = lattice
            .client
            .start_actor(host.id(), start)
            .await
            .expect("a WASI 0.3 component starts")
            .actor_id;

        // `floe call` of an async func, its config read through wasi:config.
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let out = cli.json(lattice.args(&[
            "call",
            &greeter,
            "acme:greet/greeter.greet",
            r#"[{"name": "Ada", "title": null, "languages": []}, "warm"]"#,
        ]));
        assert_eq!(out["ok"]["text"], "Howdy, Ada!", "{out}");
        let refused = lattice
            .call_json(
                &greeter,
                "acme:greet/greeter.greet",
                json!([{"name": " ", "title": null, "languages": []}, "formal"]),
            )
            .await
            .expect("a typed err result");
        assert_eq!(refused, json!({"err": "a person needs a name"}));

        // Through a link: `front` imports the synchronous greeter.
        let front = lattice.start(&host, "front").await;
        lattice
            .client
            .put_link(&Link::new(&front, &greeter, "acme:greet", &["greeter"]))
            .await
            .expect("link put");
        let welcome = json!([["Ada", "Grace"], false]);
        crate::apps::wait_for("the link applies", Duration::from_secs(10), || async {
            lattice
                .call_json(&front, "acme:greet/front.welcome", welcome.clone())
                .await
                .is_ok_and(|v| v == json!({"ok": ["Howdy, Ada!", "Howdy, Grace!"]}))
        })
        .await;

        // wasi:keyvalue through a linked provider.
        let provider = lattice.start_provider(&host, "keyvalue-nats").await;
        lattice
            .client
            .put_link(&crate::keyvalue::kv_link(&greeter, &provider, "counters"))
            .await
            .expect("link put");
        let bump = || lattice.call_json(&greeter, "acme:greet/tally.bump", json!(["visits"]));
        crate::apps::wait_for(
            "the keyvalue link applies",
            Duration::from_secs(20),
            || async { bump().await.is_ok_and(|v| v.get("ok").is_some()) },
        )
        .await;
        let first = bump().await.expect("bump")["ok"].as_u64().expect("a count");
        let second = bump().await.expect("bump")["ok"].as_u64().expect("a count");
        assert_eq!(second, first + 1);
    })
    .await;
}
