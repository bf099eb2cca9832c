//! `floe secret put|list|delete|rotate-key` (docs/secrets.md). A value is
//! read from a file, an environment variable or stdin — never from the
//! command line, which shells keep in their history — sealed here and
//! stored; no command prints a value.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use floe_ctl::client::derived_secrets_key;
use floe_wire::secrets::{SecretValue, SecretsKey};
use serde::Serialize;

use super::lattice::Lattice;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a new version of a secret, sealed on this machine (value from --from-file, --from-env, or stdin).
    Put(PutArgs),
    /// List secrets: names, versions, keys and allow-lists (never values).
    List,
    /// Delete a secret (actors reading it no longer see it).
    Delete {
        /// The secret's name.
        name: String,
    },
    /// Seal every secret to another secrets key (default: the one derived from this client's cluster seed).
    RotateKey(RotateArgs),
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// The secret's name: 1 to 64 letters, digits, `_` or `-`.
    pub name: String,
    /// Read the value from this file, byte for byte.
    #[arg(long, conflicts_with = "from_env", value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Read the value from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub from_env: Option<String>,
    /// Who may read it: an actor or provider id, an actor name, or `@ingress` (hosts serving ingress: a TLS certificate) (repeatable, at least one).
    #[arg(long = "allow", value_name = "ID|NAME", required = true)]
    pub allow: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The new key's public key (`X…`; see `floe keys gen --type secrets`).
    /// Hosts must hold its seed (`floe-host --secrets-key`) before you rotate.
    #[arg(long, value_name = "X…")]
    pub to: Option<String>,
    /// Return once the new key is published, without waiting for the re-seal.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for every secret to be re-sealed.
    #[arg(long, default_value = "60s", value_parser = floe_wire::duration::parse_flag_duration)]
    pub wait: Duration,
}

/// One secret as listed.
#[derive(Debug, Serialize)]
struct Listed {
    name: String,
    version: u64,
    key: String,
    allow: Vec<String>,
    put_unix_ms: u64,
}

pub async fn secret(ctx: &Lattice, cmd: SecretCommand) -> anyhow::Result<()> {
    match cmd {
        SecretCommand::Put(args) => put(ctx, &args).await,
        SecretCommand::List => list(ctx).await,
        SecretCommand::Delete { name } => {
            ctx.client.delete_secret(&name).await?;
            match ctx.global.output {
                OutputFormat::Text => {
                    println!("Secret {name} deleted");
                    Ok(())
                }
                format => {
                    output::print_data(format, &serde_json::json!({"name": name, "deleted": true}))
                }
            }
        }
        SecretCommand::RotateKey(args) => rotate(ctx, &args).await,
    }
}

fn read_value(args: &PutArgs) -> anyhow::Result<SecretValue> {
    let bytes = match (&args.from_file, &args.from_env) {
        (Some(path), _) => std::fs::read(path)
            .with_context(|| format!("cannot read the secret's value from {}", path.display()))?,
        (None, Some(var)) => std::env::var_os(var)
            .ok_or_else(|| anyhow!("the environment variable {var} is not set"))?
            .into_encoded_bytes(),
        (None, None) => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("Type the value, then Ctrl-D (one trailing newline is dropped):");
            }
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read the secret's value from stdin")?;
            // `echo value | floe secret put` adds one newline: drop it.
            if bytes.ends_with(b"\n") {
                bytes.pop();
                if bytes.ends_with(b"\r") {
                    bytes.pop();
                }
            }
            bytes
        }
    };
    SecretValue::new(bytes).map_err(bad_request)
}

/// Input refused before anything is stored: exit status 2, as a host's
/// `bad_request` refusal would be.
fn bad_request(e: floe_wire::secrets::SecretError) -> anyhow::Error {
    floe_ctl::CtlError::Refused(floe_wire::control::Refusal::new(
        floe_wire::control::ControlCode::BadRequest,
        e.to_string(),
    ))
    .into()
}

async fn put(ctx: &Lattice, args: &PutArgs) -> anyhow::Result<()> {
    floe_wire::secrets::check_name(&args.name).map_err(bad_request)?;
    let allow = floe_wire::secrets::check_allow(&args.allow).map_err(bad_request)?;
    let value = read_value(args)?;
    let default = derived_secrets_key(&ctx.global.lattice, ctx.global.cluster_seed.as_deref())?;
    let sealed = ctx
        .client
        .put_secret(&args.name, &value, &allow, &default)
        .await
        .with_context(|| format!("cannot store secret {}", args.name))?;
    drop(value);
    warn_unknown(ctx, &allow).await;
    match ctx.global.output {
        OutputFormat::Text => {
            println!(
                "Secret {} version {} stored, sealed to key {}, readable by {}",
                sealed.name,
                sealed.version,
                sealed.key,
                sealed.allow.join(", ")
            );
            Ok(())
        }
        format => output::print_data(format, &listed(&sealed)),
    }
}

/// Says which allow-list entries name nothing running now (a typo shows
/// here; an actor not started yet is fine).
async fn warn_unknown(ctx: &Lattice, allow: &[String]) {
    let Ok(inventories) = ctx.client.inventories_for_lookup(ctx.global.window).await else {
        return;
    };
    for entry in allow.iter().filter(|e| !e.starts_with('@')) {
        let known = inventories.iter().any(|inv| {
            inv.actors
                .iter()
                .any(|a| a.actor_id == *entry || a.name == *entry)
                || inv.providers.iter().any(|p| p.provider_id == *entry)
        });
        if !known {
            eprintln!(
                "note: no running actor or provider is {entry}; it may read the secret once it runs"
            );
        }
    }
}

fn listed(sealed: &floe_wire::secrets::SealedSecret) -> Listed {
    Listed {
        name: sealed.name.clone(),
        version: sealed.version,
        key: sealed.key.clone(),
        allow: sealed.allow.clone(),
        put_unix_ms: sealed.put_ms,
    }
}

async fn list(ctx: &Lattice) -> anyhow::Result<()> {
    let secrets: Vec<Listed> = ctx
        .client
        .list_secrets()
        .await?
        .iter()
        .map(listed)
        .collect();
    match ctx.global.output {
        OutputFormat::Text => {
            if secrets.is_empty() {
                println!("No secrets (store one with `floe secret put NAME --allow ACTOR`)");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = secrets
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.version.to_string(),
                        short(&s.key),
                        s.allow.join(","),
                    ]
                })
                .collect();
            output::print_table(&["NAME", "VERSION", "KEY", "ALLOW"], &rows)
        }
        format => output::print_data(format, &secrets),
    }
}

fn short(key: &str) -> String {
    key.get(..12)
        .map_or_else(|| key.to_owned(), |k| format!("{k}…"))
}

async fn rotate(ctx: &Lattice, args: &RotateArgs) -> anyhow::Result<()> {
    let to = match &args.to {
        Some(public) => SecretsKey::from_public_key(public)?,
        None => derived_secrets_key(&ctx.global.lattice, ctx.global.cluster_seed.as_deref())?,
    };
    let hosts = ctx.client.ping_hosts(ctx.global.window).await?;
    let holders = hosts
        .iter()
        .filter(|h| h.secrets_keys.iter().any(|k| k == to.id()))
        .count();
    if holders == 0 {
        bail!(
            "no host holds secrets key {}: start hosts with --secrets-key for it first (else no actor could read a secret sealed to it)",
            to.id()
        );
    }
    for host in hosts
        .iter()
        .filter(|h| !h.secrets_keys.iter().any(|k| k == to.id()))
    {
        eprintln!(
            "note: host {} does not hold the new key; actors using secrets will not start there",
            host.host_id
        );
    }
    let record = ctx.client.rotate_secrets_key(&to).await?;
    if args.no_wait || record.retiring.is_empty() {
        return match ctx.global.output {
            OutputFormat::Text => {
                println!("Secrets key {} is current", record.current);
                Ok(())
            }
            format => output::print_data(format, &record),
        };
    }
    let waiting = output::Waiting::new(
        ctx.global.output,
        format!("Re-sealing every secret to {}…", record.current),
    );
    let started = Instant::now();
    loop {
        let now = ctx.client.secrets_key_record().await?;
        if now
            .as_ref()
            .is_some_and(|r| r.current == record.current && r.retiring.is_empty())
        {
            break;
        }
        if now.as_ref().is_some_and(|r| r.current != record.current) {
            bail!(
                "another rotation made {} current meanwhile",
                now.map(|r| r.current).unwrap_or_default()
            );
        }
        if started.elapsed() > args.wait {
            bail!(
                "the re-seal has not finished after {:?}: the hosts' leader logs why (a secret sealed to a key no host holds stays on it); `floe secret list` shows each secret's key",
                args.wait
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(waiting);
    match ctx.global.output {
        OutputFormat::Text => {
            println!(
                "Every secret is sealed to {}; retired {}",
                record.current,
                record.retiring.join(", ")
            );
            Ok(())
        }
        format => output::print_data(
            format,
            &serde_json::json!({"current": record.current, "retired": record.retiring}),
        ),
    }
}
