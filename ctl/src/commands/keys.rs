//! `floe keys gen` and `floe keys list`.

use anyhow::Context as _;
use floe_wire::{FloeHome, KeyKind};
use serde::Serialize;

use clap::{Args, Subcommand};

use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new key pair and print its public key and seed.
    Gen(KeysGenArgs),
    /// List the keys saved under $FLOE_HOME/keys (public keys only).
    List,
}

#[derive(Debug, Args)]
pub struct KeysGenArgs {
    /// What the key identifies.
    /// (`secrets`: an X25519 key for `floe-host --secrets-key`, docs/secrets.md.)
    #[arg(long = "type", short = 't', value_parser = ["account", "actor", "provider", "host", "cluster", "secrets"])]
    pub kind: String,
    /// Save the seed as $FLOE_HOME/keys/NAME.nk (a secrets key: NAME.xk), mode 0600.
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
}

#[derive(Debug, Serialize)]
struct GeneratedKey {
    #[serde(rename = "type")]
    kind: String,
    public_key: String,
    seed: String,
    saved_to: Option<String>,
}

#[derive(Debug, Serialize)]
struct ListedKey {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    public_key: String,
    path: String,
}

pub fn generate(args: &KeysGenArgs, home: &FloeHome, format: OutputFormat) -> anyhow::Result<()> {
    if args.kind == "secrets" {
        return generate_secrets_key(args, home, format);
    }
    let kind: KeyKind = args.kind.parse()?;
    let pair = kind.generate();
    let seed = pair
        .seed()
        .context("a freshly generated key has no seed; this is a bug in nkeys")?;
    let saved_to = match &args.save {
        Some(name) => Some(
            home.keys()
                .save(name, &pair)
                .with_context(|| format!("cannot save the new key as `{name}`"))?,
        ),
        None => None,
    };
    let generated = GeneratedKey {
        kind: kind.to_string(),
        public_key: pair.public_key(),
        seed,
        saved_to: saved_to.map(|p| p.display().to_string()),
    };
    print_generated(&generated, format)
}

/// A secrets key: its seed saved as `$FLOE_HOME/keys/NAME.xk` (0600),
/// which `floe-host --secrets-key PATH` reads.
fn generate_secrets_key(
    args: &KeysGenArgs,
    home: &FloeHome,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let key = floe_wire::secrets::SecretsKey::generate();
    let seed = key
        .seed()
        .context("a freshly generated key has no seed; this is a bug in nkeys")?;
    let saved_to = match &args.save {
        Some(name) => {
            floe_wire::secrets::check_name(name)?;
            let path = home.keys().dir().join(format!("{name}.xk"));
            {
                use std::os::unix::fs::DirBuilderExt as _;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(home.keys().dir())
                    .with_context(|| format!("cannot create {}", home.keys().dir().display()))?;
            }
            let mut file = {
                use std::os::unix::fs::OpenOptionsExt as _;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .with_context(|| {
                        format!("cannot create {} (does it exist already?)", path.display())
                    })?
            };
            std::io::Write::write_all(&mut file, seed.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Some(path.display().to_string())
        }
        None => None,
    };
    let generated = GeneratedKey {
        kind: "secrets".into(),
        public_key: key.id().to_owned(),
        seed: seed.to_string(),
        saved_to,
    };
    print_generated(&generated, format)
}

fn print_generated(generated: &GeneratedKey, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(format, generated),
        OutputFormat::Text => {
            let mut fields = vec![
                ("Type", generated.kind.clone()),
                ("Public key", generated.public_key.clone()),
                ("Seed", generated.seed.clone()),
            ];
            if let Some(path) = &generated.saved_to {
                fields.push(("Saved to", path.clone()));
            }
            output::print_fields(&fields)
        }
    }
}

pub fn list(home: &FloeHome, format: OutputFormat) -> anyhow::Result<()> {
    let store = home.keys();
    let keys = store.list().context("cannot list saved keys")?;
    let listed: Vec<ListedKey> = keys
        .into_iter()
        .map(|k| ListedKey {
            name: k.name,
            kind: k.kind.map(|k| k.to_string()),
            public_key: k.public_key,
            path: k.path.display().to_string(),
        })
        .collect();
    match format {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(format, &listed),
        OutputFormat::Text if listed.is_empty() => {
            println!(
                "No keys saved in {} (create one with `floe keys gen --type account --save NAME`).",
                store.dir().display()
            );
            Ok(())
        }
        OutputFormat::Text => {
            let rows: Vec<Vec<String>> = listed
                .iter()
                .map(|k| {
                    vec![
                        k.name.clone(),
                        k.kind.clone().unwrap_or_else(|| "?".to_owned()),
                        k.public_key.clone(),
                    ]
                })
                .collect();
            output::print_table(&["NAME", "TYPE", "PUBLIC KEY"], &rows)
        }
    }
}

impl KeysCommand {
    pub fn execute(self, home: &FloeHome, format: OutputFormat) -> anyhow::Result<()> {
        match self {
            KeysCommand::Gen(args) => generate(&args, home, format),
            KeysCommand::List => list(home, format),
        }
    }
}
