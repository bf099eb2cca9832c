//! `floe claims sign|inspect` through the real binary, on the example actor
//! that `make examples` builds and on deliberately bad inputs.

use std::path::{Path, PathBuf};

use floe_tests::{FloeCli, paths};
use floe_wire::claims::{self, VerifyPolicy};

/// An unsigned copy of the echo component (the signed example with its
/// claims section removed is exactly the guest build's output).
fn unsigned_echo(dir: &Path) -> PathBuf {
    let signed = std::fs::read(paths::actor("echo").expect("echo actor")).expect("read echo");
    let unsigned = unsign(&signed);
    let path = dir.join("echo.wasm");
    std::fs::write(&path, unsigned).expect("write");
    path
}

/// Removes the claims section by re-walking the component's sections.
fn unsign(bytes: &[u8]) -> Vec<u8> {
    // The claims section is appended last by `floe claims sign`; its start is
    // where a verifier's hash stops. Find it by stripping and checking.
    for cut in (8..bytes.len()).rev() {
        if claims::existing_claims(&bytes[..cut]).is_ok_and(|c| c.is_none())
            && claims::verify(&bytes[..cut], 0, &VerifyPolicy::default())
                == Err(claims::VerifyError::Unsigned)
            && bytes[cut] == 0
        {
            return bytes[..cut].to_vec();
        }
    }
    panic!("no claims section found in the signed echo actor");
}

fn issuer(cli: &FloeCli) -> String {
    cli.json(["keys", "gen", "--type", "account", "--save", "issuer"]);
    "issuer".to_owned()
}

#[test]
fn inspect_of_the_signed_example_reports_valid_claims() {
    let cli = FloeCli::new().expect("cli");
    let echo = paths::actor("echo").expect("echo actor");
    let report = cli.json(["claims".as_ref(), "inspect".as_ref(), echo.as_os_str()]);
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["signature_valid"], true);
    assert_eq!(report["hash_valid"], true);
    assert_eq!(report["claims"]["floe"]["name"], "echo");
    let sub = report["claims"]["sub"].as_str().expect("sub");
    assert!(sub.starts_with('M'), "{sub}");
    assert!(
        report["claims"]["iss"]
            .as_str()
            .expect("iss")
            .starts_with('A')
    );
    let text = cli.ok(["claims".as_ref(), "inspect".as_ref(), echo.as_os_str()]);
    assert!(text.contains("Verdict") && text.contains("valid"), "{text}");
}

#[test]
fn sign_inspect_and_resign_keep_the_actor_id() {
    let cli = FloeCli::new().expect("cli");
    let dir = tempfile::tempdir().expect("tempdir");
    let input = unsigned_echo(dir.path());
    let issuer = issuer(&cli);
    let first = cli.json([
        "claims",
        "sign",
        input.to_str().expect("utf8"),
        "--issuer",
        &issuer,
        "--name",
        "echo",
        "--version",
        "1.0.0",
        "--revision",
        "1",
        "--cap",
        "wasi:keyvalue/store",
        "--cap",
        "wasi:logging",
        "--tag",
        "demo",
        "--expires-in",
        "30d",
    ]);
    let signed_path = dir.path().join("echo_s.wasm");
    assert_eq!(
        first["path"],
        signed_path.display().to_string(),
        "default destination is NAME_s.wasm"
    );
    let actor = first["actor"].as_str().expect("actor").to_owned();
    assert!(
        first["new_actor_key"].is_string(),
        "a first signature creates an actor key"
    );

    let report = cli.json(["claims", "inspect", signed_path.to_str().expect("utf8")]);
    assert_eq!(report["valid"], true);
    assert_eq!(
        report["claims"]["floe"]["caps"],
        serde_json::json!(["wasi:keyvalue/store", "wasi:logging"])
    );
    assert_eq!(
        report["claims"]["floe"]["tags"],
        serde_json::json!(["demo"])
    );
    assert!(
        report["claims"]["exp"].as_u64().expect("exp")
            > report["claims"]["iat"].as_u64().expect("iat")
    );

    // Re-sign the signed output with a new issuer and revision: same actor.
    let other = cli.json(["keys", "gen", "--type", "account"]);
    let other_seed = other["seed"].as_str().expect("seed");
    let resigned = dir.path().join("echo-v2.wasm");
    let second = cli.json([
        "claims",
        "sign",
        signed_path.to_str().expect("utf8"),
        "--issuer",
        other_seed,
        "--name",
        "echo",
        "--version",
        "2.0.0",
        "--revision",
        "2",
        "--destination",
        resigned.to_str().expect("utf8"),
    ]);
    assert_eq!(
        second["actor"],
        actor.as_str(),
        "re-signing keeps the actor id"
    );
    assert_eq!(second["issuer"], other["public_key"]);
    assert!(second["new_actor_key"].is_null());

    // Signing the unsigned original again reuses the actor key saved for its name.
    let third = cli.json([
        "claims",
        "sign",
        input.to_str().expect("utf8"),
        "--issuer",
        &issuer,
        "--name",
        "echo",
        "--version",
        "1.0.1",
        "--destination",
        dir.path().join("echo-3.wasm").to_str().expect("utf8"),
    ]);
    assert_eq!(third["actor"], actor.as_str());

    // An explicit --subject names another actor.
    let subject = cli.json(["keys", "gen", "--type", "actor"]);
    let fourth = cli.json([
        "claims",
        "sign",
        signed_path.to_str().expect("utf8"),
        "--issuer",
        &issuer,
        "--name",
        "echo",
        "--version",
        "3.0.0",
        "--subject",
        subject["public_key"].as_str().expect("pk"),
        "--destination",
        dir.path().join("echo-4.wasm").to_str().expect("utf8"),
    ]);
    assert_eq!(fourth["actor"], subject["public_key"]);
}

#[test]
fn inspect_reports_tampering_and_exits_non_zero() {
    let cli = FloeCli::new().expect("cli");
    let dir = tempfile::tempdir().expect("tempdir");
    let echo = std::fs::read(paths::actor("echo").expect("echo")).expect("read");
    let mut tampered = echo.clone();
    // A byte in the middle of the code: inside a section body, not its framing.
    let middle = unsign(&echo).len() / 2;
    tampered[middle] ^= 0x5a;
    let path = dir.path().join("tampered.wasm");
    std::fs::write(&path, &tampered).expect("write");
    let out = cli.run([
        "claims",
        "inspect",
        path.to_str().expect("utf8"),
        "-o",
        "json",
    ]);
    assert!(!out.success, "a tampered actor must not inspect as valid");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json report");
    assert_eq!(report["valid"], false);
    assert_eq!(report["reason"], "tampered");
    assert_eq!(report["hash_valid"], false);
    assert_eq!(report["signature_valid"], true);
    assert!(out.stderr.contains("tampered"), "{}", out.stderr);
    let text = cli.run(["claims", "inspect", path.to_str().expect("utf8")]);
    assert!(!text.success);
    assert!(text.stdout.contains("MISMATCH"), "{}", text.stdout);
}

#[test]
fn inspect_of_an_unsigned_component_says_so() {
    let cli = FloeCli::new().expect("cli");
    let dir = tempfile::tempdir().expect("tempdir");
    let input = unsigned_echo(dir.path());
    let out = cli.run(["claims", "inspect", input.to_str().expect("utf8")]);
    assert!(!out.success);
    assert!(out.stderr.contains("unsigned"), "{}", out.stderr);
    assert!(
        out.stderr.contains("floe claims sign"),
        "the error says what to do: {}",
        out.stderr
    );
}

#[test]
fn sign_refuses_what_is_not_a_component_with_one_line() {
    let cli = FloeCli::new().expect("cli");
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = issuer(&cli);
    let core = dir.path().join("core.wasm");
    // A minimal core module: header only.
    std::fs::write(&core, b"\0asm\x01\0\0\0").expect("write");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text\n").expect("write");
    let empty = dir.path().join("empty.wasm");
    std::fs::write(&empty, b"").expect("write");
    let truncated = dir.path().join("truncated.wasm");
    let echo = std::fs::read(paths::actor("echo").expect("echo")).expect("read");
    std::fs::write(&truncated, &echo[..echo.len() / 3]).expect("write");
    let missing = dir.path().join("missing.wasm");
    let cases = [
        (&core, "core WebAssembly module"),
        (&text, "not WebAssembly"),
        (&empty, "empty"),
        (&truncated, "truncated"),
        (&missing, "cannot read"),
    ];
    for (path, expected) in cases {
        let out = cli.run([
            "claims",
            "sign",
            path.to_str().expect("utf8"),
            "--issuer",
            &issuer,
            "--name",
            "x",
            "--version",
            "1",
        ]);
        assert!(!out.success, "{} was signed", path.display());
        assert!(
            out.stderr.contains(expected),
            "{}: {}",
            path.display(),
            out.stderr
        );
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "one line: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
    }
    assert!(
        !dir.path().join("core_s.wasm").exists() && !dir.path().join("truncated_s.wasm").exists(),
        "nothing is written for refused input"
    );
}

#[test]
fn sign_refuses_bad_keys_and_capabilities() {
    let cli = FloeCli::new().expect("cli");
    let dir = tempfile::tempdir().expect("tempdir");
    let input = unsigned_echo(dir.path());
    let input = input.to_str().expect("utf8");
    let issuer = issuer(&cli);
    let cases: [(&[&str], &str); 4] = [
        (&["--issuer", "nobody"], "no key named `nobody`"),
        (
            &["--issuer", &issuer, "--cap", "wasi:http/types@0.2.0"],
            "carries a version",
        ),
        (
            &["--issuer", &issuer, "--cap", "keyvalue"],
            "must look like",
        ),
        (
            &["--issuer", &issuer, "--expires-in", "soon"],
            "not a duration",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["claims", "sign", input, "--name", "echo", "--version", "1"];
        args.extend_from_slice(extra);
        let out = cli.run(&args);
        assert!(!out.success, "{extra:?} was accepted");
        assert!(out.stderr.contains(expected), "{extra:?}: {}", out.stderr);
    }
    let actor_seed = cli.json(["keys", "gen", "--type", "actor"]);
    let out = cli.run([
        "claims",
        "sign",
        input,
        "--name",
        "echo",
        "--version",
        "1",
        "--issuer",
        actor_seed["seed"].as_str().expect("seed"),
    ]);
    assert!(!out.success, "an actor seed cannot issue");
    assert!(out.stderr.contains("account"), "{}", out.stderr);
}

#[test]
fn inspect_survives_extreme_times_in_claims() {
    // Claims are shown before they are trusted: any number may be there.
    let cli = FloeCli::new().expect("cli");
    let dir = tempfile::tempdir().expect("tempdir");
    let echo = std::fs::read(paths::actor("echo").expect("echo")).expect("read");
    let issuer = floe_wire::KeyKind::Account.generate();
    let signed = claims::sign(
        &echo,
        &claims::SignRequest {
            issuer: &issuer,
            subject: floe_wire::KeyKind::Actor.generate().public_key(),
            name: "far-future".to_owned(),
            version: "1".to_owned(),
            revision: 0,
            caps: vec![],
            tags: vec![],
            now: u64::MAX - 1,
            not_before: None,
            expires: Some(u64::MAX),
        },
    )
    .expect("sign");
    let path = dir.path().join("far.wasm");
    std::fs::write(&path, signed).expect("write");
    let out = cli.run(["claims", "inspect", path.to_str().expect("utf8")]);
    assert!(out.stdout.contains("unix seconds"), "{}", out.stdout);
    let huge = cli.run([
        "claims",
        "sign",
        path.to_str().expect("utf8"),
        "--issuer",
        &issuer.seed().expect("seed"),
        "--name",
        "x",
        "--version",
        "1",
        "--expires-in",
        "18446744073709551615s",
    ]);
    assert!(!huge.success, "an expiry past the end of time is refused");
}
