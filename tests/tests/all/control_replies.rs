//! Control replies larger than one NATS message: an inventory of many
//! actors (here three, each with a 400 KB annotation) travels through the
//! payload store, whole, to the client and the CLI, and nothing is left in
//! the store after.

use std::time::Duration;

use floe_tests::{paths, start_request, with_timeout};
use floe_wire::KeyKind;

use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_larger_than_a_message_arrives_whole() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let echo = std::fs::read(paths::actor("echo").expect("echo")).expect("code");
        let issuer = KeyKind::Account.generate();
        let files = tempfile::tempdir().expect("dir");
        let blob = "x".repeat(400_000);
        let mut ids = Vec::new();
        for i in 0..3 {
            let (id, signed) =
                floe_tests::sign_as_new_actor(&echo, &issuer, &format!("big-{i}"), &[])
                    .expect("signs");
            let path = files.path().join(format!("big-{i}.wasm"));
            std::fs::write(&path, signed).expect("written");
            let mut req = start_request(&path, None);
            req.annotations.insert("blob".to_owned(), blob.clone());
            lattice
                .client
                .start_actor(host.id(), req)
                .await
                .unwrap_or_else(|e| panic!("starts: {e}\n{}", host.log()));
            ids.push(id);
        }
        let inventory = lattice
            .client
            .inventory(host.id())
            .await
            .unwrap_or_else(|e| panic!("a 1.2 MB inventory arrives: {e}\n{}", host.log()));
        for id in &ids {
            let actor = inventory
                .actors
                .iter()
                .find(|a| &a.actor_id == id)
                .unwrap_or_else(|| panic!("{id} is in the inventory"));
            assert_eq!(actor.annotations.get("blob"), Some(&blob), "whole");
        }
        // The CLI reads it the same way.
        let cli = floe_tests::FloeCli::for_lattice(&lattice.name).expect("cli");
        let printed = cli.json(lattice.args(&["get", "inventory", host.id()]));
        let text = printed.to_string();
        assert!(
            ids.iter().all(|id| text.contains(id.as_str())),
            "{}",
            text.chars().take(200).collect::<String>()
        );
        let left = lattice.payload_objects_left().await;
        assert!(left.is_empty(), "objects left behind: {left:?}");
    })
    .await;
}
