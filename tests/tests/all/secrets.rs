//! Secrets sealed at rest (docs/secrets.md): `floe secret put` seals a
//! value on the client, hosts open it for the actors its allow-list names
//! and serve it as `wasi:config`; the value appears nowhere else — logs,
//! events, the log stream, inventories, listings, the raw buckets, metrics.
//! A box moved to another name does not open, and a host without the key
//! refuses the start, naming the secret.

use std::time::Duration;

use base64::Engine as _;
use floe_tests::host::{HostOptions, HostProcess};
use floe_tests::{FloeCli, paths, with_timeout};
use futures::StreamExt as _;
use serde_json::json;

use crate::lattice::Lattice;

const LIMIT: Duration = Duration::from_secs(150);
const GET: &str = "floe:examples/settings.get";

/// The actor id of the example actor `name`.
pub fn actor_id(name: &str) -> String {
    let bytes = std::fs::read(paths::actor(name).expect("example actor")).expect("read");
    floe_wire::claims::existing_claims(&bytes)
        .expect("claims")
        .expect("signed")
        .sub
}

/// 32 random letters and digits: text, as `wasi:config` values are.
pub fn sentinel() -> String {
    let mut rng = fastrand::Rng::new();
    (0..32).map(|_| rng.alphanumeric()).collect()
}

/// Asserts that `haystack` holds `secret` in none of its spellings.
pub fn assert_absent(haystack: &[u8], secret: &str, what: &str) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    for spelling in [
        secret.to_owned(),
        hex.clone(),
        hex.to_uppercase(),
        b64.encode(secret),
        url.encode(secret),
    ] {
        assert!(
            !haystack
                .windows(spelling.len())
                .any(|w| w == spelling.as_bytes()),
            "the secret appears in {what} (as {spelling:.8}…)"
        );
    }
}

/// A host whose own log is at trace level (libraries' compile logs aside).
pub async fn traced_host(lattice: &Lattice, args: &[&str]) -> HostProcess {
    HostProcess::start(
        lattice.nats.url(),
        &lattice.name,
        HostOptions {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            cache_dir: Some(lattice.cache.path().to_owned()),
            log_filter: Some(
                "trace,cranelift_codegen=info,regalloc2=info,wasmtime_cranelift=info,wasmtime=info"
                    .into(),
            ),
            ..HostOptions::default()
        },
    )
    .await
    .expect("floe-host starts")
}

/// `floe secret put NAME --allow …` with the value on stdin.
pub fn put_secret(cli: &FloeCli, lattice: &Lattice, name: &str, value: &str, allow: &[&str]) {
    let mut command = cli.command();
    command.args(lattice.args(&["secret", "put", name]));
    for entry in allow {
        command.args(["--allow", entry]);
    }
    let out = put_with_stdin(cli, command, &format!("{value}\n"));
    assert!(out.success, "secret put: {}", out.stderr);
}

fn put_with_stdin(
    cli: &FloeCli,
    mut command: std::process::Command,
    input: &str,
) -> floe_tests::CliOutput {
    use std::io::Write as _;
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::File::create(file.path())
        .and_then(|mut f| f.write_all(input.as_bytes()))
        .expect("write stdin");
    command.stdin(std::fs::File::open(file.path()).expect("open stdin"));
    cli.run_command(command)
}

/// Every message a JetStream stream holds, headers and payload.
async fn stream_bytes(raw: &async_nats::Client, stream: &str) -> Vec<u8> {
    let js = async_nats::jetstream::new(raw.clone());
    let mut stream = js.get_stream(stream).await.expect("stream");
    let state = stream.info().await.expect("info").state.clone();
    let mut bytes = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(message) = stream.get_raw_message(seq).await {
            bytes.extend_from_slice(format!("{:?}", message.headers).as_bytes());
            bytes.extend_from_slice(&message.payload);
        }
    }
    bytes
}

fn metrics_address(host: &HostProcess) -> String {
    host.log()
        .lines()
        .find_map(|l| {
            l.split("metrics at http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("the host logs its metrics address:\n{}", host.log()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_reaches_only_allowed_actors_and_appears_nowhere_else() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let raw = lattice.nats.connect().await.expect("raw");
        let mut events = raw
            .subscribe(floe_wire::Subject::AllEvents.render(lattice.client.lattice()))
            .await
            .expect("subscribe to every event");
        floe_lattice::confirm::subscriptions_registered(&raw, Duration::from_secs(5))
            .await
            .expect("confirmed");
        let a = traced_host(&lattice, &[]).await;
        let b = traced_host(&lattice, &["--metrics-addr", "127.0.0.1:0"]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let secret = sentinel();
        let settings = actor_id("settings");
        put_secret(&cli, &lattice, "db", &secret, &[&settings]);

        // E, allowed, reads it on host B as wasi:config.
        let path = paths::actor("settings").expect("settings");
        let start = |actor: &std::path::Path, host: &str| {
            lattice.args(&[
                "start",
                "actor",
                actor.to_str().expect("utf-8"),
                "--host",
                host,
                "--secret",
                "db_password=db",
                "--config",
                "greeting=hi",
            ])
        };
        let out = cli.run(start(&path, b.id()));
        assert!(out.success, "{}\n{}", out.stderr, b.log());
        let got = lattice
            .call_json(&settings, GET, json!(["db_password"]))
            .await
            .expect("get");
        assert_eq!(got, json!(secret), "the allowed actor reads the secret");
        let all = lattice
            .call_json(&settings, "floe:examples/settings.all", json!([]))
            .await
            .expect("all");
        assert_eq!(all, json!([["db_password", secret], ["greeting", "hi"]]));
        lattice
            .call_json(&settings, "floe:examples/settings.say", json!(["said"]))
            .await
            .expect("say");

        // F (echo), not allowed: refused, the secret named; nothing starts.
        let echo = paths::actor("echo").expect("echo");
        let out = cli.run(start(&echo, b.id()));
        assert!(!out.success, "echo may not read db");
        assert_eq!(out.code, Some(5), "{}", out.stderr);
        assert!(
            out.stderr.contains("may not read secret db"),
            "{}",
            out.stderr
        );
        // A secret that does not exist is named too.
        let mut missing = start(&echo, b.id());
        let at = missing
            .iter()
            .position(|a| a == "db_password=db")
            .expect("flag");
        missing[at] = "token=nope".into();
        let out = cli.run(missing);
        assert!(
            out.stderr.contains("secret nope does not exist"),
            "{}",
            out.stderr
        );

        // The value appears nowhere.
        let inventory = cli.ok(lattice.args(&["get", "inventory", "-o", "json"]));
        assert!(
            inventory.contains("\"db_password\": \"db\""),
            "names are shown: {inventory}"
        );
        assert_absent(inventory.as_bytes(), &secret, "floe get inventory");
        let listed = cli.ok(lattice.args(&["secret", "list", "-o", "json"]));
        assert!(listed.contains(&settings), "{listed}");
        assert_absent(listed.as_bytes(), &secret, "floe secret list");
        let config = cli.ok(lattice.args(&["get", "config", "settings", "-o", "json"]));
        assert!(config.contains("\"db_password\": \"db\""), "{config}");
        assert_absent(config.as_bytes(), &secret, "floe get config");
        let scraped = floe_tests::http::HttpClient::new()
            .get(&format!("http://{}/metrics", metrics_address(&b)))
            .await
            .expect("scrape");
        assert_absent(scraped.text().as_bytes(), &secret, "metrics");
        let bucket = format!("KV_floe-{}", lattice.name);
        let secrets_bucket = format!("KV_floe-{}-secrets", lattice.name);
        let logs = format!("floe-{}-logs", lattice.name);
        let stored = stream_bytes(&raw, &secrets_bucket).await;
        assert!(stored.len() > 100, "the sealed entry is there");
        assert_absent(&stored, &secret, "the secrets bucket");
        assert_absent(
            &stream_bytes(&raw, &bucket).await,
            &secret,
            "the lattice bucket",
        );
        let logged = stream_bytes(&raw, &logs).await;
        assert!(
            String::from_utf8_lossy(&logged).contains("said"),
            "the log stream has lines"
        );
        assert_absent(&logged, &secret, "the actors' log stream");
        let mut seen = Vec::new();
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(300), events.next()).await
        {
            seen.extend_from_slice(&event.payload);
        }
        assert!(
            String::from_utf8_lossy(&seen).contains("actor_start_failed"),
            "events were seen"
        );
        assert_absent(&seen, &secret, "events");
        assert!(b.log().contains("secret opened"), "{}", b.log());
        assert!(
            !a.log().contains("secret opened"),
            "a host opens only the secrets its actors read"
        );
        for host in [&a, &b] {
            let log = host.log();
            assert!(log.contains("TRACE") || log.contains("DEBUG"), "traced");
            assert_absent(log.as_bytes(), &secret, "a host's log");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_box_moved_or_altered_does_not_open_and_bad_input_is_refused() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let settings = actor_id("settings");
        put_secret(&cli, &lattice, "db", "first-value", &["settings"]);

        // Someone with the cluster seed (so the MAC is recomputed) copies
        // db's entry to the name `stolen`, and another alters a box.
        let raw = lattice.nats.connect().await.expect("raw");
        let auth = floe_tests::auth_for(&lattice.name);
        let secrets = floe_lattice::secrets::Secrets::open(&raw, auth.clone())
            .await
            .expect("bucket");
        let (sealed, _) = secrets.get("db").await.expect("read").expect("stored");
        let bucket = format!("floe-{}-secrets", lattice.name);
        let mut moved = sealed.clone();
        moved.name = "stolen".into();
        let body = serde_json::to_vec(&moved).expect("json");
        secrets
            .store()
            .put(
                "secret.stolen",
                auth.seal_value_in(&bucket, "secret.stolen", &body).into(),
            )
            .await
            .expect("put the moved entry");
        let mut altered = sealed.clone();
        altered.name = "altered".into();
        let last = altered.sealed.len() - 1;
        altered.sealed[last] ^= 1;
        let body = serde_json::to_vec(&altered).expect("json");
        secrets
            .store()
            .put(
                "secret.altered",
                auth.seal_value_in(&bucket, "secret.altered", &body).into(),
            )
            .await
            .expect("put the altered entry");
        let path = paths::actor("settings").expect("settings");
        let start = |secret: &str| {
            cli.run(lattice.args(&[
                "start",
                "actor",
                path.to_str().expect("utf-8"),
                "--host",
                host.id(),
                "--secret",
                &format!("db_password={secret}"),
            ]))
        };
        let out = start("stolen");
        assert!(!out.success);
        assert!(
            out.stderr.contains("secret stolen holds the box of db"),
            "{}",
            out.stderr
        );
        let out = start("altered");
        assert!(
            out.stderr.contains("secret altered does not open"),
            "{}",
            out.stderr
        );
        // A forged entry without the lattice MAC is not a secret at all.
        secrets
            .store()
            .put(
                "secret.forged",
                serde_json::to_vec(&sealed).expect("json").into(),
            )
            .await
            .expect("put");
        let out = start("forged");
        assert!(
            out.stderr.contains("secret forged does not exist"),
            "{}",
            out.stderr
        );
        // The real one still works, and the hostile entries left no trace.
        let out = start("db");
        assert!(out.success, "{}", out.stderr);
        let got = lattice
            .call_json(&settings, GET, json!(["db_password"]))
            .await
            .expect("get");
        assert_eq!(got, json!("first-value"));
        assert!(
            host.log()
                .contains("ignoring an entry of the secrets bucket"),
            "{}",
            host.log()
        );

        // Bad input on the command line: each refused with what to do.
        let too_large = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(too_large.path(), vec![b'x'; 64 * 1024 + 1]).expect("write");
        let cases: [(Vec<&str>, &str); 4] = [
            (
                vec![
                    "secret",
                    "put",
                    "big",
                    "--allow",
                    "settings",
                    "--from-file",
                    too_large.path().to_str().expect("utf-8"),
                ],
                "at most 64 KiB",
            ),
            (
                vec![
                    "secret",
                    "put",
                    "bad.name",
                    "--allow",
                    "settings",
                    "--from-env",
                    "HOME",
                ],
                "not a valid secret name",
            ),
            (
                vec![
                    "secret",
                    "put",
                    "x",
                    "--allow",
                    "not an id",
                    "--from-env",
                    "HOME",
                ],
                "neither an actor or provider id",
            ),
            (
                vec!["secret", "delete", "absent"],
                "secret absent does not exist",
            ),
        ];
        for (args, expected) in cases {
            let out = cli.run(lattice.args(&args));
            assert!(!out.success, "{args:?}");
            assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        }
        let out = cli.run(lattice.args(&["secret", "put", "x", "--from-env", "HOME"]));
        assert!(
            out.stderr.contains("--allow"),
            "an allow-list is required: {}",
            out.stderr
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_the_secrets_key_refuses_the_actor_and_says_why() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let other = floe_wire::secrets::SecretsKey::generate();
        let seed = other.seed().expect("seed");
        let host = lattice.host(&[], &["--secrets-key", &seed]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        // Sealed to the key derived from the cluster seed (the default).
        put_secret(&cli, &lattice, "db", "value", &["settings"]);
        let path = paths::actor("settings").expect("settings");
        let out = cli.run(lattice.args(&[
            "start",
            "actor",
            path.to_str().expect("utf-8"),
            "--host",
            host.id(),
            "--secret",
            "db_password=db",
        ]));
        assert!(!out.success);
        assert_eq!(out.code, Some(5), "{}", out.stderr);
        assert!(
            out.stderr.contains("secret db is sealed to secrets key X")
                && out.stderr.contains("which this host does not hold"),
            "{}",
            out.stderr
        );
        let hosts = cli.json(lattice.args(&["get", "hosts"]));
        assert_eq!(hosts[0]["secrets_keys"], json!([other.id()]), "{hosts}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_gets_only_the_secrets_that_allow_it() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &[]).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let binary = paths::bin("greeter-native").expect("built");
        let binary = binary.to_str().expect("utf-8");
        // Its id is the key saved under its name on the host: learn it.
        let id = lattice.start_provider(&host, "greeter-native").await;
        lattice
            .client
            .stop_provider(host.id(), &id)
            .await
            .expect("stop");
        put_secret(&cli, &lattice, "token", "for-settings", &["settings"]);
        let start = || {
            cli.run(lattice.args(&[
                "start",
                "provider",
                binary,
                "--host",
                host.id(),
                "--secret",
                "api_token=token",
            ]))
        };
        let out = start();
        assert!(!out.success, "the provider is not allowed");
        assert!(
            out.stderr
                .contains(&format!("{id} may not read secret token")),
            "{}",
            out.stderr
        );
        put_secret(&cli, &lattice, "token", "for-the-provider", &[&id]);
        let out = start();
        assert!(out.success, "{}\n{}", out.stderr, host.log());
        assert_absent(host.log().as_bytes(), "for-the-provider", "the host's log");
    })
    .await;
}
