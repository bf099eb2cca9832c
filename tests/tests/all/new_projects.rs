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
/// guest builds sharing `target/guest` and `make test`'s componentize-py
/// on PATH; requires success, returns stdout.
pub fn floe(cli: &FloeCli, lattice: &Lattice, dir: &Path, args: &[&str]) -> String {
    let mut command = cli.command();
    let target = paths::guest_target_dir().expect("target");
    // componentize-py from the virtualenv `make test` prepares, first.
    let pyenv = target.parent().expect("target").join("pyenv/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(pyenv).chain(std::env::split_paths(&path)))
        .expect("PATH");
    command
        .args(lattice.args(args))
        .current_dir(dir)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", target);
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
    if lang == "js" {
        // componentize-js as `make test` installs it (pinned), shared by
        // every project instead of an `npm install` of ~400 MB each.
        let shared = paths::guest_target_dir()
            .expect("target")
            .parent()
            .expect("target")
            .join("jsenv/node_modules");
        assert!(
            shared.is_dir(),
            "{} is missing: run `make test`",
            shared.display()
        );
        std::os::unix::fs::symlink(&shared, project.join("node_modules")).expect("linked");
    }
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

/// `floe new` → `floe build` → `floe start` → `floe call` (or `curl`) for
/// the three templates of `lang`; names end in `-{lang}`.
async fn templates_answer(lang: &str) {
    let lattice = Lattice::new().await;
    let host = lattice.host(&[], &[]).await;
    let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
    let root = tempfile::tempdir().expect("dir");
    let dir = root.path();
    let name = |template: &str| format!("{template}-{lang}");

    let (path, built) = new_and_build(&cli, &lattice, dir, &name("hi"), lang, "hello");
    assert!(claims(&built).is_empty(), "{built}");
    let said = start_and_call(
        &cli,
        &lattice,
        dir,
        &path,
        &name("hi"),
        "hello",
        r#"["world"]"#,
    );
    assert!(said.contains("Hello, world!"), "{said}");

    let (path, built) = new_and_build(&cli, &lattice, dir, &name("count"), lang, "kv");
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
            &name("count"),
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
            &["call", &name("count"), "increment", r#"["visits"]"#],
        );
        assert_eq!(counted.trim(), expected, "counts exactly");
    }

    let (path, built) = new_and_build(&cli, &lattice, dir, &name("web"), lang, "http");
    assert!(claims(&built).is_empty(), "{built}");
    let body = served(&cli, &lattice, &host, dir, &path, &name("web")).await;
    assert_eq!(body, format!("hello from {}\n", name("web")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_templates_build_start_and_answer() {
    let version = std::process::Command::new(
        paths::guest_target_dir()
            .expect("target")
            .parent()
            .expect("target")
            .join("pyenv/bin/componentize-py"),
    )
    .arg("--version")
    .output()
    .expect("componentize-py runs (make test installs it)");
    eprintln!(
        "built with {}",
        String::from_utf8_lossy(&version.stdout).trim()
    );
    with_timeout(LIMIT, templates_answer("python")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_templates_build_start_and_answer() {
    let package = paths::guest_target_dir()
        .expect("target")
        .parent()
        .expect("target")
        .join("jsenv/node_modules/@bytecodealliance/componentize-js/package.json");
    let package: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&package).expect("make test installs componentize-js"),
    )
    .expect("package.json");
    eprintln!("built with componentize-js {}", package["version"]);
    with_timeout(LIMIT, templates_answer("js")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_templates_build_start_and_answer() {
    with_timeout(LIMIT, async {
        templates_answer("rust").await;
        // A second build of the same project is the same actor, one
        // revision up (what `update` swaps in).
        let lattice = Lattice::new().await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let root = tempfile::tempdir().expect("dir");
        let (_, first) = new_and_build(&cli, &lattice, root.path(), "twice", "rust", "hello");
        assert_eq!(first["revision"], 1);
        let again: serde_json::Value = serde_json::from_str(&floe(
            &cli,
            &lattice,
            &root.path().join("twice"),
            &["build", "-o", "json"],
        ))
        .expect("json");
        assert_eq!(again["revision"], 2);
        assert_eq!(again["actor_id"], first["actor_id"]);
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
