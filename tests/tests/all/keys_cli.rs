//! `floe keys gen|list` and `floe completions` through the real binary.

use floe_tests::FloeCli;
use floe_wire::keys::{self, KeyKind};

#[test]
fn gen_prints_valid_keys_of_every_type() {
    let cli = FloeCli::new().expect("cli");
    for kind in KeyKind::ALL {
        let out = cli.json(["keys", "gen", "--type", kind.as_str()]);
        let public = out["public_key"].as_str().expect("public_key");
        let seed = out["seed"].as_str().expect("seed");
        assert_eq!(out["type"], kind.as_str());
        keys::parse_public(public, kind).expect("a valid public key of the asked kind");
        let pair = keys::parse_seed(seed, kind).expect("a valid seed of the asked kind");
        assert_eq!(
            pair.public_key(),
            public,
            "the seed belongs to the public key"
        );
        assert!(out["saved_to"].is_null());
    }
    let text = cli.ok(["keys", "gen", "--type", "host"]);
    assert!(
        text.contains("Public key") && text.contains("Seed"),
        "{text}"
    );
}

#[test]
fn save_stores_a_private_seed_and_list_shows_only_public_keys() {
    let cli = FloeCli::new().expect("cli");
    let out = cli.json(["keys", "gen", "--type", "account", "--save", "issuer"]);
    let public = out["public_key"].as_str().expect("public").to_owned();
    let seed = out["seed"].as_str().expect("seed").to_owned();
    let path = cli.home().join("keys/issuer.nk");
    assert_eq!(out["saved_to"], path.display().to_string());
    let saved = std::fs::read_to_string(&path).expect("saved file");
    assert_eq!(saved.trim(), seed);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "seed files are private");
    }

    let listed = cli.json(["keys", "list"]);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "issuer");
    assert_eq!(listed[0]["type"], "account");
    assert_eq!(listed[0]["public_key"], public.as_str());
    let text = cli.ok(["keys", "list"]);
    assert!(text.contains(&public), "{text}");
    assert!(!text.contains(&seed), "list never prints seeds");

    let again = cli.run(["keys", "gen", "--type", "account", "--save", "issuer"]);
    assert!(!again.success, "saving over an existing key is refused");
    assert!(again.stderr.contains("already saved"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).expect("file").trim(),
        seed,
        "the old seed is kept"
    );
}

#[test]
fn bad_key_arguments_fail_with_a_reason() {
    let cli = FloeCli::new().expect("cli");
    let out = cli.run(["keys", "gen", "--type", "module"]);
    assert!(!out.success);
    assert!(out.stderr.contains("invalid value"), "{}", out.stderr);
    let out = cli.run(["keys", "gen", "--type", "actor", "--save", "../escape"]);
    assert!(!out.success);
    assert!(
        out.stderr.contains("not a valid key name"),
        "{}",
        out.stderr
    );
    let text = cli.ok(["keys", "list"]);
    assert!(text.contains("No keys saved"), "{text}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let cli = FloeCli::new().expect("cli");
    let bash = cli.ok(["completions", "bash"]);
    assert!(
        bash.contains("_floe()") && bash.contains("complete -F _floe"),
        "{bash}"
    );
    assert!(bash.contains("providers"), "subcommands are completed");
    let fish = cli.ok(["completions", "fish"]);
    assert!(fish.contains("complete -c floe"), "{fish}");
    let zsh = cli.ok(["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef floe"), "{zsh}");
    let bad = cli.run(["completions", "tcsh"]);
    assert!(!bad.success);
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
}
