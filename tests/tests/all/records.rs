//! The lattice's compare-and-set records against a real nats-server:
//! `records` (create only when absent, update only at the revision read,
//! unsealed or foreign entries read as absent), `apps` (an unchanged
//! manifest stores nothing, a stale head loses) and `lease` (one holder at
//! a time, renewals only by the holder, a release hands it over at once).

use std::time::Duration;

use floe_lattice::lease::{Lease, open_lease_bucket};
use floe_lattice::{apps, open_bucket, records};
use floe_tests::{NatsServer, auth_for, with_timeout};
use floe_wire::app::AppManifest;
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(30);

async fn bucket(nats: &NatsServer, lattice: &str) -> async_nats::jetstream::kv::Store {
    let client = nats.connect().await.expect("connect");
    open_bucket(&client, &lattice.parse().expect("lattice id"))
        .await
        .expect("bucket")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_written_only_at_the_revision_read() {
    with_timeout(LIMIT, async {
        let nats = NatsServer::start().await.expect("nats");
        let kv = bucket(&nats, "records").await;
        let auth = auth_for("records");

        let first = records::create(&kv, &auth, "r.a", &json!({"n": 1}))
            .await
            .expect("create")
            .expect("absent, so created");
        assert_eq!(
            records::create(&kv, &auth, "r.a", &json!({"n": 9}))
                .await
                .expect("create"),
            None,
            "a second create of the same key loses"
        );
        let read = records::read::<serde_json::Value>(&kv, &auth, "r.a")
            .await
            .expect("read")
            .expect("present");
        assert_eq!((read.value["n"].as_i64(), read.revision), (Some(1), first));

        // Two writers read the same revision: the first update wins, the
        // second finds the revision moved and writes nothing.
        let second = records::update(&kv, &auth, "r.a", &json!({"n": 2}), first)
            .await
            .expect("update")
            .expect("at the revision read");
        assert_eq!(
            records::update(&kv, &auth, "r.a", &json!({"n": 3}), first)
                .await
                .expect("update"),
            None
        );
        let read = records::read::<serde_json::Value>(&kv, &auth, "r.a")
            .await
            .expect("read")
            .expect("present");
        assert_eq!((read.value["n"].as_i64(), read.revision), (Some(2), second));

        // Sealed under another lattice's key, or not sealed at all: absent.
        let stranger = auth_for("someone-else");
        records::put(&kv, &stranger, "r.b", &json!({"n": 4}))
            .await
            .expect("put");
        kv.put("r.c", b"{\"n\":5}".to_vec().into())
            .await
            .expect("raw put");
        for key in ["r.b", "r.c"] {
            let read = records::read::<serde_json::Value>(&kv, &auth, key)
                .await
                .expect("read");
            assert!(
                read.is_none(),
                "{key} does not open under this lattice's key"
            );
        }
        assert_eq!(
            records::keys(&kv, "r.").await.expect("keys"),
            ["r.a", "r.b", "r.c"]
        );
    })
    .await;
}

fn manifest(name: &str, image: &str) -> AppManifest {
    serde_json::from_value(json!({
        "name": name,
        "version": "1.0.0",
        "components": [{"name": "api", "kind": "actor", "image": image}],
    }))
    .expect("a valid manifest")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_move_their_head_by_compare_and_set() {
    with_timeout(LIMIT, async {
        let nats = NatsServer::start().await.expect("nats");
        let kv = bucket(&nats, "apps").await;
        let auth = auth_for("apps");

        let first = apps::apply(&kv, &auth, manifest("shop", "/a.wasm"))
            .await
            .expect("apply");
        assert!(first.changed);
        assert_eq!(first.version.seq, 1);
        let same = apps::apply(&kv, &auth, manifest("shop", "/a.wasm"))
            .await
            .expect("apply");
        assert!(!same.changed, "an unchanged manifest stores nothing");
        assert_eq!(same.version.seq, 1);
        let next = apps::apply(&kv, &auth, manifest("shop", "/b.wasm"))
            .await
            .expect("apply");
        assert_eq!((next.changed, next.version.seq), (true, 2));
        assert_eq!(
            apps::history(&kv, &auth, "shop")
                .await
                .expect("history")
                .len(),
            2
        );

        // A writer that read the head before `next` moved it cannot move it.
        let head_key = floe_wire::app::head_key("shop");
        let head = records::read::<floe_wire::app::AppHead>(&kv, &auth, &head_key)
            .await
            .expect("read")
            .expect("head");
        let stale = head.revision;
        apps::apply(&kv, &auth, manifest("shop", "/c.wasm"))
            .await
            .expect("apply");
        let moved = records::update(&kv, &auth, &head_key, &head.value, stale)
            .await
            .expect("update");
        assert_eq!(moved, None, "a head read before the last apply is stale");
        let (head, current) = apps::current(&kv, &auth, "shop").await.expect("current");
        assert_eq!((head.value.seq, current.seq), (3, 3));
        assert_eq!(current.manifest.components[0].image, "/c.wasm");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_holds_the_lease_until_it_lets_go() {
    with_timeout(LIMIT, async {
        let nats = NatsServer::start().await.expect("nats");
        let client = nats.connect().await.expect("connect");
        let lattice = "lease".parse().expect("lattice id");
        let kv = open_lease_bucket(&client, &lattice, Duration::from_secs(30))
            .await
            .expect("lease bucket");
        let auth = auth_for("lease");
        let mut a = Lease::new(kv.clone(), auth.clone(), "NHOSTA");
        let mut b = Lease::new(kv, auth, "NHOSTB");

        assert!(
            a.renew_or_acquire().await.expect("a"),
            "the first taker holds it"
        );
        assert!(
            !b.renew_or_acquire().await.expect("b"),
            "a second taker does not"
        );
        assert!(a.renew_or_acquire().await.expect("a renews"));
        assert_eq!(
            a.holder()
                .await
                .expect("holder")
                .map(|h| h.host_id)
                .as_deref(),
            Some("NHOSTA")
        );

        // A clean stop hands it over at once.
        a.release().await;
        assert!(!a.is_held());
        assert!(
            b.renew_or_acquire().await.expect("b"),
            "released: the next taker holds it"
        );
        assert!(
            !a.renew_or_acquire().await.expect("a"),
            "and the first no longer can"
        );
        assert_eq!(
            b.holder()
                .await
                .expect("holder")
                .map(|h| h.host_id)
                .as_deref(),
            Some("NHOSTB")
        );
        // A holder that lost track of its renewal (a timeout) cannot take
        // it back while its old entry stands: it waits out the TTL.
        b.forget();
        assert!(!b.renew_or_acquire().await.expect("b again"));
    })
    .await;
}
