//! The harness itself: servers start, accept clients, and leave nothing behind.

use std::path::Path;
use std::time::Duration;

use floe_tests::{NatsCluster, NatsServer, with_timeout};
use futures::StreamExt as _;

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn nats_server_starts_serves_and_is_reaped() {
    with_timeout(Duration::from_secs(30), async {
        let server = NatsServer::start().await.expect("server starts");
        let pid = server.pid();
        assert!(process_exists(pid));
        let client = server.connect().await.expect("client connects");
        let mut sub = client.subscribe("harness.ping").await.expect("subscribe");
        client
            .publish("harness.ping", "hello".into())
            .await
            .expect("publish");
        client.flush().await.expect("flush");
        let msg = sub.next().await.expect("a message arrives");
        assert_eq!(&msg.payload[..], b"hello");
        let info = client
            .request("$JS.API.INFO", Vec::new().into())
            .await
            .expect("JetStream answers");
        let info: serde_json::Value = serde_json::from_slice(&info.payload).expect("json");
        assert!(info.get("error").is_none(), "JetStream is enabled: {info}");
        drop(client);
        drop(server);
        assert!(
            !process_exists(pid),
            "nats-server {pid} is still running after drop"
        );
    })
    .await;
}

#[tokio::test]
async fn a_panicking_test_still_reaps_its_server() {
    with_timeout(Duration::from_secs(30), async {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = tokio::spawn(async move {
            let server = NatsServer::start().await.expect("server starts");
            tx.send(server.pid()).expect("send pid");
            panic!("deliberate panic while the server runs");
        });
        assert!(handle.await.is_err(), "the task panicked");
        let pid = rx.recv().expect("pid was sent");
        assert!(!process_exists(pid), "nats-server {pid} survived a panic");
    })
    .await;
}

#[tokio::test]
async fn cluster_of_three_forms_with_jetstream() {
    with_timeout(Duration::from_secs(90), async {
        let cluster = NatsCluster::start().await.expect("cluster starts");
        assert_eq!(cluster.servers.len(), 3);
        let pids: Vec<u32> = cluster.servers.iter().map(|s| s.pid()).collect();
        // A message published on one server reaches a subscriber on another:
        // the routes are up.
        let a = cluster.servers[0].connect().await.expect("connect a");
        let c = cluster.servers[2].connect().await.expect("connect c");
        let mut sub = c.subscribe("harness.routed").await.expect("subscribe");
        c.flush().await.expect("flush");
        let mut received = None;
        for _ in 0..50 {
            a.publish("harness.routed", "across".into())
                .await
                .expect("publish");
            a.flush().await.expect("flush");
            if let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(200), sub.next()).await
            {
                received = Some(msg);
                break;
            }
        }
        let msg = received.expect("a routed message arrives");
        assert_eq!(&msg.payload[..], b"across");
        // JetStream is clustered: a stream with three replicas can be created.
        let create = serde_json::json!({
            "name": "HARNESS", "subjects": ["harness.js.>"], "num_replicas": 3, "storage": "memory"
        });
        let mut created = false;
        for _ in 0..50 {
            let reply = a
                .request(
                    "$JS.API.STREAM.CREATE.HARNESS",
                    serde_json::to_vec(&create).expect("json").into(),
                )
                .await
                .expect("JetStream answers");
            let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json");
            if reply.get("error").is_none() {
                assert_eq!(reply["config"]["num_replicas"], 3);
                created = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(created, "a replicated stream could be created");
        drop((a, c));
        drop(cluster);
        for pid in pids {
            assert!(!process_exists(pid), "cluster member {pid} survived drop");
        }
    })
    .await;
}
