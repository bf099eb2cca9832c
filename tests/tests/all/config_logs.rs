//! Host-provided capabilities every actor gets without a claim: the config
//! it was started with (`wasi:config/store`), and logging — `wasi:logging`
//! and stdout both reach the host log and the actor's log stream
//! (`log.{actor_id}`), sealed and tagged with the invocation id.

use std::time::Duration;

use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::Subject;
use floe_wire::logline::ActorLogLine;
use futures::StreamExt as _;
use serde_json::json;

use crate::lattice::{Lattice, start_request};

const LIMIT: Duration = Duration::from_secs(100);
const SETTINGS: &str = "floe:examples/settings";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_read_their_config_and_their_logs_reach_the_stream() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let mut req = start_request(&paths::actor("settings").expect("settings"), None);
        req.config = [("greeting", "hi"), ("color", "blue")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let actor = lattice
            .client
            .start_actor(host.id(), req)
            .await
            .unwrap_or_else(|e| panic!("settings starts without claims: {e}\n{}", host.log()))
            .actor_id;
        let get_op = format!("{SETTINGS}.get");
        let get = |key: &str| lattice.call_json(&actor, &get_op, json!([key]));
        assert_eq!(get("greeting").await.expect("get"), json!("hi"));
        assert_eq!(get("missing").await.expect("get"), json!(null));
        let all = lattice
            .call_json(&actor, &format!("{SETTINGS}.all"), json!([]))
            .await
            .expect("all");
        assert_eq!(all, json!([["color", "blue"], ["greeting", "hi"]]));

        let raw = lattice.nats.connect().await.expect("raw");
        let mut logs = raw
            .subscribe(
                Subject::Log {
                    entity: actor.clone(),
                }
                .render(lattice.client.lattice()),
            )
            .await
            .expect("subscribe");
        raw.flush().await.expect("flush");
        lattice
            .call_json(&actor, &format!("{SETTINGS}.say"), json!(["hello floe"]))
            .await
            .expect("say");
        let mut lines = Vec::new();
        for _ in 0..2 {
            let msg = tokio::time::timeout(Duration::from_secs(10), logs.next())
                .await
                .expect("a log line within 10 s")
                .expect("message");
            lattice
                .client
                .auth()
                .verify(&msg)
                .expect("log lines are sealed");
            let line: ActorLogLine = serde_json::from_slice(&msg.payload).expect("a log line");
            lines.push(line);
        }
        lines.sort_by(|a, b| a.stream.cmp(&b.stream));
        let (logged, printed) = (&lines[0], &lines[1]);
        assert_eq!(
            (logged.stream.as_str(), logged.level.as_str()),
            ("log", "info"),
            "{logged:?}"
        );
        assert_eq!(
            (logged.context.as_str(), logged.line.as_str()),
            ("settings", "hello floe")
        );
        assert_eq!(
            (printed.stream.as_str(), printed.line.as_str()),
            ("stdout", "printed: hello floe")
        );
        assert_eq!(logged.invocation, printed.invocation, "one invocation");
        assert_ne!(logged.invocation, uuid::Uuid::nil().to_string());
        assert_eq!(logged.host_id, host.id());
        assert!(host.log().contains("hello floe"), "and the host log");

        // Kept in the lattice's bounded log stream.
        let js = async_nats::jetstream::new(raw.clone());
        let mut stream = js
            .get_stream(format!("floe-{}-logs", lattice.name))
            .await
            .expect("the log stream exists");
        // Stored on its own schedule: wait for both lines.
        let started = std::time::Instant::now();
        loop {
            let info = stream.info().await.expect("info");
            if info.state.messages >= 2 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                info.state
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let flags = ["--nats-url", lattice.nats.url(), "--lattice", &lattice.name];

        // `floe logs` reads the stream back, and skips a line forged by
        // someone without the lattice key.
        let forged = serde_json::json!({
            "actor_id": actor, "host_id": host.id(), "invocation": "x", "stream": "log",
            "level": "info", "context": "", "line": "forged line", "time": "now"
        });
        raw.publish(
            Subject::Log {
                entity: actor.clone(),
            }
            .render(lattice.client.lattice()),
            serde_json::to_vec(&forged).expect("json").into(),
        )
        .await
        .expect("publish");
        raw.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let out = cli.run(["logs", "settings"].iter().chain(&flags));
        assert!(out.success, "{}", out.stderr);
        assert!(
            out.stdout.contains("log/info [settings] hello floe"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("stdout/info printed: hello floe"),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains("forged line"), "{}", out.stdout);
        assert!(out.stderr.contains("skipped 1 line"), "{}", out.stderr);
        let json_out = cli.ok(["logs", &actor, "-o", "json"].iter().chain(&flags));
        let parsed: Vec<ActorLogLine> = json_out
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON line per log line"))
            .collect();
        assert_eq!(parsed.len(), 2, "{json_out}");
        assert!(parsed.iter().all(|l| l.invocation == logged.invocation));

        // The CLI passes --config too.
        cli.ok(["stop", "actor", &actor].iter().chain(&flags));
        let path = paths::actor("settings").expect("settings");
        let path = path.to_str().expect("utf8");
        cli.ok([
            "start",
            "actor",
            path,
            "--host",
            host.id(),
            "--config",
            "greeting=hey",
        ]
        .iter()
        .chain(&flags));
        let out = cli.ok([
            "call",
            "settings",
            &format!("{SETTINGS}.get"),
            "[\"greeting\"]",
        ]
        .iter()
        .chain(&flags));
        assert_eq!(out.trim(), "\"hey\"");
    })
    .await;
}
