//! A newcomer's path with the real toolchains: `floe new` → `floe build`
//! → `floe start` → `floe call` (or `curl`) for each template, each
//! language. The build claims exactly what the component imports (`kv`
//! claims `wasi:keyvalue`, the others nothing), and a missing piece of a
//! toolchain is named with the command that installs it.

use std::path::Path;
use std::time::Duration;

use floe_tests::http::{HttpClient, free_port};
use floe_tests::{FloeCli, paths, with_timeout};

use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(600);

/// `floe ARGS…` run by `cli` with the test lattice's flags, in `dir`, with
/// guest builds sharing `target/guest`; requires success, returns stdout.
pub fn floe(cli: &FloeCli, lattice: &Lattice, dir: &Path, args: &[&str]) -> String {
    let mut command = cli.command();
    command.args(lattice.args(args)).current_dir(dir).env(
        "CARGO_TARGET_DIR",
        paths::guest_target_dir().expect("target"),
    );
    let out = cli.run_command(command);
    assert!(
        out.success,
        "floe {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// Creates and builds a project; the signed file and the build's report.
pub fn new_and_build(
    cli: &FloeCli,
    lattice: &Lattice,
    root: &Path,
    name: &str,
    lang: &str,
    template: &str,
) -> (String, serde_json::Value) {
    floe(
        cli,
        lattice,
        root,
        &["new", "actor", name, "--lang", lang, "--template", template],
    );
    let project = root.join(name);
    for file in ["floe.toml", "README.md", ".gitignore"] {
        assert!(project.join(file).is_file(), "{name} has {file}");
    }
    let built: serde_json::Value =
        serde_json::from_str(&floe(cli, lattice, &project, &["build", "-o", "json"]))
            .expect("build reports JSON");
    let path = built["path"].as_str().expect("signed path").to_owned();
    assert!(Path::new(&path).is_file(), "{path}");
    (path, built)
}

fn claims(built: &serde_json::Value) -> Vec<String> {
    built["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .map(|c| c[0].as_str().expect("capability").to_owned())
        .collect()
}

/// Starts `path` and calls `op` of it with `args`, through the CLI.
fn start_and_call(
    cli: &FloeCli,
    lattice: &Lattice,
    dir: &Path,
    path: &str,
    name: &str,
    op: &str,
    args: &str,
) -> String {
    floe(cli, lattice, dir, &["start", "actor", path]);
    floe(cli, lattice, dir, &["call", name, op, args])
}

/// Starts an `http` template's actor at `path` behind the http-server
/// provider on a free port and returns what `GET /` answers.
async fn served(
    cli: &FloeCli,
    lattice: &Lattice,
    host: &floe_tests::HostProcess,
    dir: &Path,
    path: &str,
    name: &str,
) -> String {
    floe(cli, lattice, dir, &["start", "actor", path]);
    let provider = lattice.start_provider(host, "http-server").await;
    let address = format!("127.0.0.1:{}", free_port());
    floe(
        cli,
        lattice,
        dir,
        &[
            "link",
            "put",
            &provider,
            name,
            "wasi:http/incoming-handler",
            "--link-name",
            name,
            "--source-config",
            &format!("address={address}"),
        ],
    );
    let http = HttpClient::new();
    let url = format!("http://{address}/");
    for _ in 0..200 {
        if let Ok(answer) = http.get(&url).await {
            assert_eq!(answer.status, 200, "{}", answer.text());
            return answer.text();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing served {url}; host log:\n{}", host.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_templates_build_start_and_answer() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path();

        let (path, built) = new_and_build(&cli, &lattice, dir, "hi-rust", "rust", "hello");
        assert!(claims(&built).is_empty(), "{built}");
        assert_eq!(built["revision"], 1);
        let said = start_and_call(
            &cli,
            &lattice,
            dir,
            &path,
            "hi-rust",
            "hello",
            r#"["world"]"#,
        );
        assert!(said.contains("Hello, world!"), "{said}");

        let (path, built) = new_and_build(&cli, &lattice, dir, "count-rust", "rust", "kv");
        assert_eq!(
            claims(&built),
            ["wasi:keyvalue/atomics", "wasi:keyvalue/store"],
            "exactly what it imports"
        );
        floe(&cli, &lattice, dir, &["start", "actor", &path]);
        let kv = lattice.start_provider(&host, "keyvalue-nats").await;
        floe(
            &cli,
            &lattice,
            dir,
            &[
                "link",
                "put",
                "count-rust",
                &kv,
                "wasi:keyvalue/store,atomics",
                "--target-config",
                "buckets=counters",
            ],
        );
        for expected in ["1", "2"] {
            let counted = floe(
                &cli,
                &lattice,
                dir,
                &["call", "count-rust", "increment", r#"["visits"]"#],
            );
            assert!(counted.contains(expected), "{expected}: {counted}");
        }

        let (path, built) = new_and_build(&cli, &lattice, dir, "web-rust", "rust", "http");
        assert!(claims(&built).is_empty(), "{built}");
        let body = served(&cli, &lattice, &host, dir, &path, "web-rust").await;
        assert_eq!(body, "hello from web-rust\n");

        // A second build of the same project is the same actor, one
        // revision up (what `update` swaps in).
        let again: serde_json::Value = serde_json::from_str(&floe(
            &cli,
            &lattice,
            &dir.join("hi-rust"),
            &["build", "-o", "json"],
        ))
        .expect("json");
        assert_eq!(again["revision"], 2);
        let first: serde_json::Value = serde_json::from_str(&floe(
            &cli,
            &lattice,
            dir,
            &[
                "claims",
                "inspect",
                &again["path"].as_str().expect("path").to_owned(),
                "-o",
                "json",
            ],
        ))
        .expect("json");
        assert_eq!(first["claims"]["sub"], again["actor_id"]);
    })
    .await;
}

#[test]
fn a_project_needs_its_toolchain_and_says_how_to_get_it() {
    let cli = FloeCli::new().expect("cli");
    let root = tempfile::tempdir().expect("dir");
    let mut new = cli.command();
    new.args(["new", "actor", "lonely", "--template", "hello"])
        .current_dir(root.path());
    assert!(cli.run_command(new).success);
    // No cargo on PATH: named, with how to install it.
    let mut build = cli.command();
    build
        .args(["build"])
        .current_dir(root.path().join("lonely"))
        .env("PATH", "/nonexistent");
    let out = cli.run_command(build);
    assert!(!out.success);
    assert!(
        out.stderr.contains("cargo") && out.stderr.contains("install it with"),
        "{}",
        out.stderr
    );
    // Outside a project: said, with what to do.
    let mut outside = cli.command();
    outside.args(["build"]).current_dir(root.path());
    let out = cli.run_command(outside);
    assert!(!out.success);
    assert!(out.stderr.contains("floe new actor"), "{}", out.stderr);
    // A bad name and a second project over the first are refused.
    let mut bad = cli.command();
    bad.args(["new", "actor", "Bad_Name"])
        .current_dir(root.path());
    let out = cli.run_command(bad);
    assert!(
        !out.success && out.stderr.contains("not an actor name"),
        "{}",
        out.stderr
    );
    let mut again = cli.command();
    again
        .args(["new", "actor", "lonely"])
        .current_dir(root.path());
    let out = cli.run_command(again);
    assert!(
        !out.success && out.stderr.contains("not empty"),
        "{}",
        out.stderr
    );
}
