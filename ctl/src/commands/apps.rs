//! `floe app apply|list|status|history|rollback|delete`: declarative
//! applications stored in the lattice's KV bucket; the reconciler inside
//! the hosts makes them true and reports their status.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use floe_lattice::apps::{self, AppStoreError};
use floe_wire::app::{AppManifest, AppStatus, AppVersion};
use serde::Serialize;

use clap::Subcommand;

use super::lattice::Lattice;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Store a manifest (YAML or JSON) as the app's next version; the
    /// reconciler makes it true (docs/apps.md).
    Apply {
        /// The manifest file.
        file: PathBuf,
    },
    /// Every app, its current version and state.
    List,
    /// What the reconciler last found for an app: deployed, reconciling (with
    /// what is missing) or failed (with why).
    Status { name: String },
    /// Every version applied to an app.
    History { name: String },
    /// Apply an earlier version again (default: the one before the current).
    Rollback {
        name: String,
        /// The version's sequence number (see `floe app history`).
        version: Option<u64>,
    },
    /// Remove an app and exactly what it started (replicas, providers, links).
    Delete {
        name: String,
        /// Remove the app's records at once, even ones that do not open
        /// (sealed under another cluster key); the reconciler's leader then
        /// removes what the app started, as for any app whose records are gone.
        #[arg(long)]
        force: bool,
    },
}

/// The largest manifest read.
const MAX_MANIFEST: u64 = 1 << 20;

pub async fn app(ctx: &Lattice, cmd: AppCommand) -> anyhow::Result<()> {
    let kv = floe_lattice::open_bucket(ctx.client.nats(), ctx.client.lattice()).await?;
    match cmd {
        AppCommand::Apply { file } => apply(ctx, &kv, &file).await,
        AppCommand::List => list(ctx, &kv).await,
        AppCommand::Status { name } => status(ctx, &kv, name).await,
        AppCommand::History { name } => history(ctx, &kv, name).await,
        AppCommand::Rollback { name, version } => rollback(ctx, &kv, name, version).await,
        AppCommand::Delete { name, force: true } => purge(ctx, &kv, name).await,
        AppCommand::Delete { name, force: false } => delete(ctx, &kv, name).await,
    }
}

/// `floe app apply FILE`.
async fn apply(
    ctx: &Lattice,
    kv: &async_nats::jetstream::kv::Store,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let auth = ctx.client.auth();
    let format = ctx.global.output;
    let manifest = read_manifest(file)?;
    // A version sealed under another key than the hosts' would never
    // be deployed: refuse when what is stored opens only for others.
    let before = ctx.client.foreign_seals();
    let heads = apps::heads(kv, auth).await?;
    let links = ctx.client.links().await?;
    let foreign = ctx.client.foreign_seals().saturating_sub(before);
    if heads.is_empty() && links.is_empty() && foreign > 0 {
        return Err(ctx.client.foreign_seed_error(foreign).into());
    }
    let name = manifest.name.clone();
    let applied = apps::apply(kv, auth, manifest)
        .await
        .map_err(|e| explain(e, &file.display().to_string()))?;
    if !format.is_text() {
        return output::print_data(format, &applied.version);
    }
    let v = &applied.version;
    if applied.changed {
        println!(
            "Applied {name} {} as version {} (the reconciler deploys it; watch it with `floe app status {name}`)",
            v.manifest.version, v.seq
        );
    } else {
        println!(
            "{name} {} is already version {}: nothing changed",
            v.manifest.version, v.seq
        );
    }
    Ok(())
}

/// `floe app list`.
async fn list(ctx: &Lattice, kv: &async_nats::jetstream::kv::Store) -> anyhow::Result<()> {
    let auth = ctx.client.auth();
    let format = ctx.global.output;
    let before = ctx.client.foreign_seals();
    let heads = apps::heads(kv, auth).await?;
    let foreign = ctx.client.foreign_seals() - before;
    if heads.is_empty() && foreign > 0 {
        return Err(ctx.client.foreign_seed_error(foreign).into());
    }
    let statuses = apps::statuses(kv, auth).await?;
    let mut rows = Vec::new();
    let mut listed = Vec::new();
    for head in heads {
        let name = head.value.name.clone();
        let status = statuses.iter().find(|s| s.name == name);
        let current = apps::current(kv, auth, &name).await.ok().map(|(_, v)| v);
        let state = if head.value.deleting {
            "deleting".to_owned()
        } else {
            status.map_or("pending".to_owned(), |s| s.state.as_str().to_owned())
        };
        rows.push(vec![
            name.clone(),
            current
                .as_ref()
                .map_or_else(String::new, |v| v.manifest.version.clone()),
            head.value.seq.to_string(),
            state.clone(),
            current
                .as_ref()
                .map_or(0, |v| v.manifest.components.len())
                .to_string(),
        ]);
        listed.push(Listed {
            name,
            version: current.map(|v| v.manifest.version),
            seq: head.value.seq,
            state,
        });
    }
    if !format.is_text() {
        return output::print_data(format, &listed);
    }
    if rows.is_empty() {
        println!("No apps (apply one with `floe app apply app.yaml`; see docs/apps.md).");
        return Ok(());
    }
    output::print_table(&["NAME", "VERSION", "SEQ", "STATE", "COMPONENTS"], &rows)
}

/// `floe app status NAME`.
async fn status(
    ctx: &Lattice,
    kv: &async_nats::jetstream::kv::Store,
    name: String,
) -> anyhow::Result<()> {
    let auth = ctx.client.auth();
    let format = ctx.global.output;
    let (head, version) = apps::current(kv, auth, &name)
        .await
        .map_err(|e| explain(e, &name))?;
    let status = apps::status(kv, auth, &name).await?;
    if !format.is_text() {
        return output::print_data(
            format,
            &StatusReport {
                name: &name,
                seq: head.value.seq,
                version: &version.manifest.version,
                status: status.as_ref(),
            },
        );
    }
    print_status(&name, head.value.seq, &version, status.as_ref())
}

/// `floe app history NAME`.
async fn history(
    ctx: &Lattice,
    kv: &async_nats::jetstream::kv::Store,
    name: String,
) -> anyhow::Result<()> {
    let auth = ctx.client.auth();
    let format = ctx.global.output;
    let history = apps::history(kv, auth, &name).await?;
    if history.is_empty() {
        return Err(explain(AppStoreError::NotFound(name), ""));
    }
    if !format.is_text() {
        return output::print_data(format, &history);
    }
    let rows: Vec<Vec<String>> = history
        .iter()
        .map(|v| {
            vec![
                v.seq.to_string(),
                v.manifest.version.clone(),
                output::unix_time(v.applied_at),
                v.rollback_of
                    .map_or_else(String::new, |s| format!("rollback to {s}")),
            ]
        })
        .collect();
    output::print_table(&["SEQ", "VERSION", "APPLIED", "NOTE"], &rows)
}

/// `floe app rollback NAME [SEQ]`.
async fn rollback(
    ctx: &Lattice,
    kv: &async_nats::jetstream::kv::Store,
    name: String,
    version: Option<u64>,
) -> anyhow::Result<()> {
    let auth = ctx.client.auth();
    let format = ctx.global.output;
    let applied = apps::rollback(kv, auth, &name, version)
        .await
        .map_err(|e| explain(e, &name))?;
    if !format.is_text() {
        return output::print_data(format, &applied.version);
    }
    let v = &applied.version;
    println!(
        "Rolled {name} back to version {} ({}), applied as version {}",
        v.rollback_of.unwrap_or_default(),
        v.manifest.version,
        v.seq
    );
    Ok(())
}

/// `floe app delete NAME --force`: the records go at once.
async fn purge(
    ctx: &Lattice,
    kv: &async_nats::jetstream::kv::Store,
    name: String,
) -> anyhow::Result<()> {
    let format = ctx.global.output;
    if !apps::purge(kv, &name).await? {
        return Err(anyhow!(
            "no app `{name}` in lattice {} (see `floe app list`)",
            ctx.client.lattice()
        ));
    }
    if !format.is_text() {
        return output::print_data(format, &serde_json::json!({ "name": name, "purged": true }));
    }
    println!(
        "Removed every record of {name}; the reconciler's leader stops and unlinks what the app started (its orphan sweep)"
    );
    Ok(())
}

/// `floe app delete NAME`: the reconciler removes what the app started.
async fn delete(
    ctx: &Lattice,
    kv: &async_nats::jetstream::kv::Store,
    name: String,
) -> anyhow::Result<()> {
    let auth = ctx.client.auth();
    let format = ctx.global.output;
    apps::request_delete(kv, auth, &name)
        .await
        .map_err(|e| explain(e, &name))?;
    if !format.is_text() {
        return output::print_data(
            format,
            &serde_json::json!({ "name": name, "deleting": true }),
        );
    }
    println!(
        "Deleting {name}: the reconciler removes what it started, then the app (`floe app list` stops showing it)"
    );
    Ok(())
}

#[derive(Debug, Serialize)]
struct Listed {
    name: String,
    version: Option<String>,
    seq: u64,
    state: String,
}

#[derive(Debug, Serialize)]
struct StatusReport<'a> {
    name: &'a str,
    seq: u64,
    version: &'a str,
    /// `None` until a leader has looked at it.
    status: Option<&'a AppStatus>,
}

fn print_status(
    name: &str,
    seq: u64,
    version: &AppVersion,
    status: Option<&AppStatus>,
) -> anyhow::Result<()> {
    let mut fields = vec![
        ("App", name.to_owned()),
        (
            "Version",
            format!("{} (seq {seq})", version.manifest.version),
        ),
    ];
    match status {
        None => fields.push((
            "State",
            "pending: no reconciler has looked at it yet (is a floe-host running?)".to_owned(),
        )),
        Some(s) => {
            let state = if s.seq == seq {
                s.state.as_str().to_owned()
            } else {
                format!(
                    "{} (for seq {}; seq {seq} not reconciled yet)",
                    s.state.as_str(),
                    s.seq
                )
            };
            fields.push(("State", state));
            if let Some(reason) = &s.reason {
                fields.push(("Reason", reason.clone()));
            }
            for missing in &s.missing {
                fields.push(("Missing", missing.clone()));
            }
            fields.push(("Leader", s.leader.clone()));
            fields.push(("Updated", output::unix_time(s.updated_at_ms / 1000)));
        }
    }
    output::print_fields(&fields)
}

/// Reads and parses a manifest; parse errors carry the line and column.
fn read_manifest(path: &std::path::Path) -> anyhow::Result<AppManifest> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}; check the path", path.display()))?;
    if meta.len() > MAX_MANIFEST {
        anyhow::bail!("{} is larger than {MAX_MANIFEST} bytes", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| {
        anyhow!(
            "{} is not a valid manifest: {e} (see docs/apps.md for the format)",
            path.display()
        )
    })
}

fn explain(e: AppStoreError, what: &str) -> anyhow::Error {
    match e {
        AppStoreError::Invalid(fault) => {
            anyhow!("{what} cannot be applied: {fault} (see docs/apps.md for the format)")
        }
        other => anyhow!(other),
    }
}
