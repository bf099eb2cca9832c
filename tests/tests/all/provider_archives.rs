//! Signed provider archives through the real CLI and a real host:
//! `floe provider package` makes one, `floe push` stores it, and a host
//! starts it from the lattice with the id its claims name, running the
//! binary for its own target; archives without that target, tampered ones,
//! and a `--provider-key` beside an archive are refused with the reason.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use floe_host::HOST_TARGET;
use floe_tests::{FloeCli, paths, with_timeout};

use crate::lattice::Lattice;
use crate::providers::{retry, welcome};

const FAST: [&str; 2] = ["--provider-health-interval", "200ms"];

/// The archive at `path` with one byte of its binary for `target` flipped,
/// written back as a well-formed gzip tar (so only the hash check can tell).
fn tamper(path: &Path, target: &str, out: &Path) {
    let bytes = std::fs::read(path).expect("archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gzip);
    for entry in tar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("read");
        if name == format!("bin/{target}") {
            let middle = content.len() / 2;
            content[middle] ^= 0x01;
        }
        let mut header = entry.header().clone();
        builder
            .append_data(&mut header, &name, content.as_slice())
            .expect("append");
    }
    let mut gzip = builder.into_inner().expect("tar");
    gzip.flush().expect("flush");
    std::fs::write(out, gzip.finish().expect("gzip")).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_provider_archives_run_from_the_lattice_and_bad_ones_are_refused() {
    with_timeout(Duration::from_secs(100), async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &FAST).await;
        let front = lattice.start(&host, "front").await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let with = |extra: &[&str]| lattice.args(extra);
        let issuer = cli.json(["keys", "gen", "--type", "account", "--save", "acme"]);
        let issuer = issuer["public_key"]
            .as_str()
            .expect("issuer key")
            .to_owned();
        let dir = tempfile::tempdir().expect("dir");
        let binary = paths::bin("greeter-native").expect("built");
        let binary = binary.to_str().expect("utf8");
        let archive = dir.path().join("greeter.par.gz");
        let archive = archive.to_str().expect("utf8");

        // Hosts say which target they run binaries for.
        let hosts = cli.json(with(&["get", "hosts"]));
        assert_eq!(hosts[0]["target"], HOST_TARGET, "{hosts}");

        // Two targets: this host's and one it cannot run.
        let packaged = cli.json([
            "provider",
            "package",
            "--issuer",
            "acme",
            "--name",
            "greeter-native",
            "--version",
            "1.4.0",
            "--implements",
            "acme:greet/greeter",
            "--binary",
            &format!("{HOST_TARGET}={binary}"),
            "--binary",
            &format!("aarch64-apple-darwin={binary}"),
            "--destination",
            archive,
        ]);
        let provider = packaged["provider"].as_str().expect("id").to_owned();
        assert!(provider.starts_with('V'), "{packaged}");
        assert_eq!(packaged["issuer"], issuer.as_str());
        let inspected = cli.json(["provider", "inspect", archive]);
        assert_eq!(inspected["valid"], true, "{inspected}");
        assert_eq!(inspected["claims"]["sub"], provider.as_str());
        assert_eq!(inspected["targets"].as_array().expect("targets").len(), 2);

        // Pushed and started from the lattice: its id is the claims' subject.
        let pushed = cli.json(with(&["push", archive, "--name", "greeter:1.4.0"]));
        assert_eq!(pushed["kind"], "provider", "{pushed}");
        assert_eq!(pushed["id"], provider.as_str());
        let started = cli.json(with(&[
            "start",
            "provider",
            "floe://greeter:1.4.0",
            "--host",
            host.id(),
        ]));
        assert_eq!(started["provider_id"], provider.as_str(), "{started}");
        assert_eq!(started["issuer"], issuer.as_str());
        assert_eq!(started["version"], "1.4.0");
        // Verified, so no warning about plain executables.
        let again = cli.run(with(&[
            "start",
            "provider",
            "floe://greeter:1.4.0",
            "--host",
            host.id(),
        ]));
        assert!(again.success, "{}", again.stderr);
        assert!(again.stdout.contains("already runs"), "{}", again.stdout);
        assert!(
            !again.stderr.contains("plain executable"),
            "{}",
            again.stderr
        );

        // The binary out of the archive answers the actor's calls.
        cli.ok(with(&[
            "link",
            "put",
            "front",
            "greeter-native",
            "acme:greet/greeter",
        ]));
        let greeted = retry(|| welcome(&lattice, &front, "Ada", false)).await;
        assert_eq!(
            greeted,
            serde_json::json!({"ok": ["Hello from native code, Ada!"]})
        );
        let inventory = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        let running = &inventory.providers[0];
        assert_eq!(running.target.as_deref(), Some(HOST_TARGET));
        assert_eq!(running.reference, "floe://greeter:1.4.0");
        let providers = cli.json(with(&["get", "providers"]));
        assert_eq!(
            providers[0]["versions"],
            serde_json::json!(["1.4.0"]),
            "{providers}"
        );
        let claims = cli.json(with(&["get", "claims"]));
        let listed = claims
            .as_array()
            .expect("list")
            .iter()
            .find(|c| c["sub"] == provider.as_str())
            .unwrap_or_else(|| panic!("provider claims listed: {claims}"));
        assert_eq!(
            listed["floe"]["implements"],
            serde_json::json!(["acme:greet/greeter"])
        );

        // An archive is not an actor, and its id comes from its claims.
        let as_actor = cli.run(with(&[
            "start",
            "actor",
            "floe://greeter:1.4.0",
            "--host",
            host.id(),
        ]));
        assert!(!as_actor.success);
        assert!(
            as_actor.stderr.contains("provider archive"),
            "{}",
            as_actor.stderr
        );
        let keyed = cli.run(with(&[
            "start",
            "provider",
            archive,
            "--host",
            host.id(),
            "--provider-key",
            "other",
        ]));
        assert!(!keyed.success);
        assert!(
            keyed.stderr.contains("drop --provider-key"),
            "{}",
            keyed.stderr
        );

        // A host that trusts only some issuers runs their archives, and no
        // plain executable.
        let strict = lattice
            .host(&[], &["--allowed-issuer", &issuer, FAST[0], FAST[1]])
            .await;
        let plain = cli.run(with(&["start", "provider", binary, "--host", strict.id()]));
        assert!(!plain.success);
        assert!(
            plain.stderr.contains("plain executable"),
            "{}",
            plain.stderr
        );
        let signed = cli.json(with(&[
            "start",
            "provider",
            "floe://greeter:1.4.0",
            "--host",
            strict.id(),
        ]));
        assert_eq!(signed["provider_id"], provider.as_str(), "{signed}");
        let foreign_issuer = lattice
            .host(
                &[],
                &[
                    "--allowed-issuer",
                    &floe_wire::KeyKind::Account.generate().public_key(),
                ],
            )
            .await;
        let refused = cli.run(with(&[
            "start",
            "provider",
            "floe://greeter:1.4.0",
            "--host",
            foreign_issuer.id(),
        ]));
        assert!(!refused.success);
        assert!(refused.stderr.contains("allow-list"), "{}", refused.stderr);

        // No binary for this host's target: refused with the targets it has.
        let foreign = dir.path().join("foreign.par.gz");
        let foreign = foreign.to_str().expect("utf8");
        cli.json([
            "provider",
            "package",
            "--issuer",
            "acme",
            "--name",
            "greeter-riscv",
            "--binary",
            &format!("riscv64gc-unknown-linux-gnu={binary}"),
            "--destination",
            foreign,
        ]);
        let refused = cli.run(with(&["start", "provider", foreign, "--host", host.id()]));
        assert!(!refused.success);
        assert!(
            refused.stderr.contains("no binary for this host's target")
                && refused.stderr.contains(HOST_TARGET)
                && refused.stderr.contains("riscv64gc-unknown-linux-gnu"),
            "{}",
            refused.stderr
        );

        // One flipped byte in a binary: not pushed, not started, and
        // `provider inspect` names the target.
        let tampered = dir.path().join("tampered.par.gz");
        tamper(Path::new(archive), HOST_TARGET, &tampered);
        let tampered = tampered.to_str().expect("utf8");
        let push = cli.run(with(&["push", tampered]));
        assert!(!push.success);
        assert!(push.stderr.contains("tampered"), "{}", push.stderr);
        let start = cli.run(with(&["start", "provider", tampered, "--host", host.id()]));
        assert!(!start.success);
        assert!(
            start.stderr.contains("tampered") && start.stderr.contains(HOST_TARGET),
            "{}",
            start.stderr
        );
        let inspect = cli.run(["provider", "inspect", tampered]);
        assert!(!inspect.success);
        assert!(inspect.stdout.contains("TAMPERED"), "{}", inspect.stdout);
        assert_eq!(
            lattice
                .client
                .inventory(host.id())
                .await
                .expect("inventory")
                .providers
                .len(),
            1,
            "only the good archive runs"
        );
    })
    .await;
}
