//! What a newcomer's walkthrough tripped on: a call whose function returns
//! `err(…)` exits non-zero; links are refused for
//! interfaces the source does not claim, and listed with names; artifacts
//! are listed by age and removed by reference, by `--replace` when a tag
//! moves, and by `prune` when untagged and unused (never one a running
//! actor was started from).

use std::time::Duration;

use floe_tests::{FloeCli, paths, with_timeout};

use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_name_their_ends_and_refuse_what_the_source_does_not_claim() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        lattice.start(&host, "echo").await;
        lattice.start(&host, "counter").await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let refused =
            cli.run(lattice.args(&["link", "put", "echo", "counter", "wasi:keyvalue/store"]));
        assert!(!refused.success);
        assert!(
            refused
                .stderr
                .contains("does not claim wasi:keyvalue/store")
                && refused.stderr.contains("--cap"),
            "{}",
            refused.stderr
        );
        assert!(
            lattice.client.links().await.expect("links").is_empty(),
            "nothing stored"
        );

        // A function's own `err` (here: no keyvalue link yet) is printed
        // like any result, and the exit status says it failed.
        let failed = cli.run(lattice.args(&[
            "call",
            "counter",
            "floe:examples/counter.increment",
            r#"["visits"]"#,
        ]));
        assert!(!failed.success, "{}", failed.stdout);
        assert!(failed.stdout.contains(r#"{"err":"#), "{}", failed.stdout);
        assert!(
            failed.stderr.contains("returned its error case"),
            "{}",
            failed.stderr
        );

        cli.ok(lattice.args(&[
            "link",
            "put",
            "counter",
            "echo",
            "wasi:keyvalue/store,atomics",
        ]));
        let listed = cli.ok(lattice.args(&["get", "links"]));
        assert!(
            listed.contains("counter (M") && listed.contains("echo (M"),
            "names beside ids:\n{listed}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_are_listed_by_age_and_removed() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let file = |name: &str| paths::actor(name).expect("example").display().to_string();
        let digests = || -> Vec<String> {
            cli.json(lattice.args(&["get", "artifacts"]))
                .as_array()
                .expect("list")
                .iter()
                .map(|a| a["digest"].as_str().expect("digest").to_owned())
                .collect()
        };
        let pushed = |name: &str, extra: &[&str]| -> String {
            let path = file(name);
            let mut args = vec!["push", path.as_str()];
            args.extend_from_slice(extra);
            cli.json(lattice.args(&args))["digest"]
                .as_str()
                .expect("digest")
                .to_owned()
        };

        // A tag moved with --replace: the artifact it named before goes.
        let first = pushed("echo", &["--name", "echo:1"]);
        let second = pushed("echo-next", &["--name", "echo:1", "--replace"]);
        assert_eq!(digests(), vec![second.clone()]);
        assert_ne!(first, second);

        // Untagged: pruned unless something running was started from it,
        // or an app names it (its replicas may start later: here no host
        // fits its placement).
        let unused = pushed("greeter", &[]);
        let used = pushed("misbehave", &[]);
        let named = pushed("front", &[]);
        let manifest = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(
            manifest.path(),
            format!(
                "name: keeper\nversion: 1.0.0\ncomponents:\n  - name: front\n    kind: actor\n    image: floe://sha256:{named}\n    placement:\n      replicas: 1\n      requirements: {{zone: nowhere}}\n"
            ),
        )
        .expect("written");
        cli.ok(lattice.args(&["app", "apply", manifest.path().to_str().expect("utf-8")]));
        cli.ok(lattice.args(&[
            "start",
            "actor",
            &format!("floe://sha256:{used}"),
            "--host",
            host.id(),
        ]));
        let listed = cli.ok(lattice.args(&["get", "artifacts"]));
        assert!(listed.contains("AGE"), "{listed}");
        let pruned = cli.ok(lattice.args(&["artifact", "prune"]));
        assert!(pruned.contains(&unused), "{pruned}");
        let left = digests();
        assert!(
            left.contains(&used) && left.contains(&second) && left.contains(&named),
            "{left:?}"
        );
        assert!(!left.contains(&unused), "{left:?}");
        let refused = cli.run(lattice.args(&["artifact", "delete", &named[..12]]));
        assert!(
            !refused.success && refused.stderr.contains("app keeper"),
            "{}",
            refused.stderr
        );
        cli.ok(lattice.args(&["artifact", "delete", &named[..12], "--force"]));

        // By reference: a tag (and its artifact, named by no other tag),
        // a digest prefix.
        cli.ok(lattice.args(&["artifact", "delete", "echo:1"]));
        assert_eq!(digests(), vec![used.clone()]);
        let missing = cli.run(lattice.args(&["artifact", "delete", "echo:1"]));
        assert!(
            !missing.success && missing.stderr.contains("no tag echo:1"),
            "{}",
            missing.stderr
        );
        // What a running actor was started from stays unless forced.
        let prefix = format!("sha256:{}", &used[..16]);
        let refused = cli.run(lattice.args(&["artifact", "delete", &prefix]));
        assert!(
            !refused.success && refused.stderr.contains("--force"),
            "{}",
            refused.stderr
        );
        let short = cli.run(lattice.args(&["artifact", "delete", "sha256:"]));
        assert!(
            !short.success && short.stderr.contains("too short"),
            "{}",
            short.stderr
        );
        assert_eq!(digests(), vec![used.clone()]);
        cli.ok(lattice.args(&["artifact", "delete", &prefix, "--force"]));
        assert!(digests().is_empty());
        let dry = cli.ok(lattice.args(&["artifact", "prune", "--dry-run"]));
        assert!(dry.contains("Nothing to remove"), "{dry}");
    })
    .await;
}
