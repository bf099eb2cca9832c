//! `floe start|stop|scale|update actor`, `floe start|stop provider` and
//! `floe stop host`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use floe_ctl::{CtlClient, CtlError};
use floe_wire::control::{CONTROL_VERSION, StartActorRequest, StartProviderRequest};
use floe_wire::duration::OptionalDuration;
use serde_json::json;

use clap::{Args, Subcommand};

use super::lattice::Lattice;
use crate::args::parse_key_value;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum StartCommand {
    /// Start a signed actor component.
    Actor(StartActorArgs),
    /// Start a capability provider (an executable) on a host.
    Provider(StartProviderArgs),
}

#[derive(Debug, Args)]
pub struct StartActorArgs {
    /// The signed component: a file path (made absolute; it must exist on the chosen host).
    pub reference: PathBuf,
    /// The host to start it on (default: an auction picks one).
    #[arg(long, conflicts_with = "constraints")]
    pub host: Option<String>,
    /// Only hosts with this label `key=value` bid (repeatable).
    #[arg(long = "constraint", value_parser = parse_key_value)]
    pub constraints: Vec<(String, String)>,
    /// Instances that may run at once on that host.
    #[arg(long)]
    pub max_concurrent: Option<u32>,
    /// Config `key=value` the actor reads through wasi:config (repeatable).
    #[arg(long = "config", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// A secret the actor reads as config, `KEY=SECRET` (repeatable): the
    /// `wasi:config` key and the name of a secret stored with `floe secret put`.
    #[arg(long = "secret", value_parser = parse_key_value, value_name = "KEY=SECRET")]
    pub secrets: Vec<(String, String)>,
    /// An annotation `key=value` kept with the actor (repeatable).
    #[arg(long = "annotation", value_parser = parse_key_value)]
    pub annotations: Vec<(String, String)>,
    /// Go dormant after this long without calls, freeing the compiled code
    /// until the next call loads it again (`30s`, `5m`; `never` stays
    /// active). Default: the host's `--idle-after`.
    #[arg(long, value_name = "DURATION|never")]
    pub idle_after: Option<OptionalDuration>,
    /// Start dormant: checked and compiled into the host's compile cache,
    /// but loaded into memory only by its first call (scale to zero from
    /// the start).
    #[arg(long)]
    pub dormant: bool,
}

#[derive(Debug, Args)]
pub struct StartProviderArgs {
    /// A signed provider archive: `floe://sha256:…` or `floe://NAME:TAG` from
    /// `floe push`, or a path on the chosen host's machine (made absolute).
    /// A plain executable's path also works, for development (with a warning).
    pub reference: PathBuf,
    /// The host to start it on (default: an auction picks one).
    #[arg(long, conflicts_with = "constraints")]
    pub host: Option<String>,
    /// Only hosts with this label `key=value` bid (repeatable).
    #[arg(long = "constraint", value_parser = parse_key_value)]
    pub constraints: Vec<(String, String)>,
    /// A plain executable's identity: a provider seed (SV…) or a key saved on the host (default: one kept for the binary's name). An archive's id is its claims' subject.
    #[arg(long, value_name = "NAME|SEED")]
    pub provider_key: Option<String>,
    /// Config `key=value` handed to the provider (repeatable).
    #[arg(long = "config", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// A secret handed to the provider on stdin, `KEY=SECRET` (repeatable;
    /// the secret's allow-list must name the provider's id).
    #[arg(long = "secret", value_parser = parse_key_value, value_name = "KEY=SECRET")]
    pub secrets: Vec<(String, String)>,
    /// An annotation `key=value` kept with the provider (repeatable).
    #[arg(long = "annotation", value_parser = parse_key_value)]
    pub annotations: Vec<(String, String)>,
}

#[derive(Debug, Subcommand)]
pub enum StopCommand {
    /// Stop a provider (on every host running it unless --host is given).
    Provider {
        /// A provider id or unique name.
        provider: String,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
    /// Stop an actor (on every host running it unless --host is given).
    Actor {
        /// An actor id or unique name.
        actor: String,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
    /// Stop a host gracefully: in-flight calls finish first.
    Host {
        /// A host id or a unique prefix of one.
        host: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScaleCommand {
    /// Set an actor's max-concurrent (on every host running it unless --host is given).
    Actor {
        /// An actor id or unique name.
        actor: String,
        /// Instances that may run at once on each host.
        #[arg(long)]
        max_concurrent: u32,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Swap an actor to a new signed component of the same actor id.
    Actor {
        /// An actor id or unique name.
        actor: String,
        /// The new signed component (a file path, or floe://…).
        reference: PathBuf,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
}

/// The host to start on: `--host`, else the auction's pick.
pub(super) async fn placement(
    ctx: &Lattice,
    host: Option<&str>,
    constraints: &[(String, String)],
    provider: bool,
) -> anyhow::Result<String> {
    if let Some(h) = host {
        return Ok(ctx.client.resolve_host(h, ctx.global.window).await?);
    }
    let wanted = constraints.iter().cloned().collect();
    let bids = if provider {
        ctx.client
            .auction_provider(wanted, ctx.global.window)
            .await?
    } else {
        ctx.client.auction_actor(wanted, ctx.global.window).await?
    };
    CtlClient::pick(&bids)
        .map(|b| b.host_id.clone())
        .ok_or_else(|| {
            anyhow!(
                "no host fits {} (see `floe get hosts` for labels, or start a host with matching --label)",
                describe_constraints(constraints)
            )
        })
}

pub async fn start(ctx: &Lattice, cmd: StartCommand) -> anyhow::Result<()> {
    let args = match cmd {
        StartCommand::Actor(args) => args,
        StartCommand::Provider(args) => return start_provider(ctx, args).await,
    };
    let reference = absolute(&args.reference)?;
    let host = placement(ctx, args.host.as_deref(), &args.constraints, false).await?;
    let req = StartActorRequest {
        v: CONTROL_VERSION,
        reference: reference.clone(),
        max_concurrent: args.max_concurrent,
        annotations: args.annotations.iter().cloned().collect(),
        config: args.config.iter().cloned().collect(),
        secrets: args.secrets.iter().cloned().collect(),
        idle_after_ms: args.idle_after.map(|idle| {
            idle.0
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        }),
        dormant: args.dormant,
    };
    let waiting = output::Waiting::new(ctx.global.output, format!("Starting {reference}…"));
    let started = ctx
        .client
        .start_actor(&host, req)
        .await
        .with_context(|| format!("cannot start {reference} on host {host}"))?;
    drop(waiting);
    match ctx.global.output {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(ctx.global.output, &started),
        OutputFormat::Text => {
            let verb = if started.already_running {
                "already runs"
            } else {
                "started"
            };
            println!(
                "Actor {} {} ({}) {verb} on host {}",
                started.name, started.version, started.actor_id, started.host_id
            );
            Ok(())
        }
    }
}

async fn start_provider(ctx: &Lattice, args: StartProviderArgs) -> anyhow::Result<()> {
    let reference = absolute(&args.reference)?;
    let host = placement(ctx, args.host.as_deref(), &args.constraints, true).await?;
    let req = StartProviderRequest {
        v: CONTROL_VERSION,
        reference: reference.clone(),
        provider_key: args.provider_key.clone(),
        config: args.config.iter().cloned().collect(),
        annotations: args.annotations.iter().cloned().collect(),
        secrets: args.secrets.iter().cloned().collect(),
    };
    let waiting = output::Waiting::new(
        ctx.global.output,
        format!("Starting {reference} (until it answers a health check)…"),
    );
    let started = ctx
        .client
        .start_provider(&host, req)
        .await
        .with_context(|| format!("cannot start provider {reference} on host {host}"))?;
    drop(waiting);
    let verb = if started.already_running {
        "already runs"
    } else {
        "started"
    };
    if ctx.global.output.is_text() && started.issuer.is_none() {
        eprintln!(
            "warning: {reference} is a plain executable: nothing signs or verifies it, so start \
             only what you would run as the host's user (package it with `floe provider package`)"
        );
    }
    report(
        ctx,
        serde_json::to_value(&started)?,
        &format!(
            "Provider {}{} ({}) {verb} on host {}",
            started.name,
            started
                .version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            started.provider_id,
            started.host_id
        ),
    )
}

pub async fn stop(ctx: &Lattice, cmd: StopCommand) -> anyhow::Result<()> {
    match cmd {
        StopCommand::Provider { provider, host } => {
            let window = ctx.global.window;
            let inventories = match &host {
                Some(h) => {
                    let id = ctx.client.resolve_host(h, window).await?;
                    vec![ctx.client.inventory(&id).await?]
                }
                None => ctx.client.inventories(window).await?,
            };
            let matches = |p: &floe_wire::control::ProviderDescription| {
                p.provider_id == provider || p.name == provider
            };
            let mut ids: Vec<String> = inventories
                .iter()
                .flat_map(|inv| inv.providers.iter().filter(|p| matches(p)))
                .map(|p| p.provider_id.clone())
                .collect();
            ids.sort();
            ids.dedup();
            let id = match ids.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(CtlError::NotFound(format!(
                        "no host runs provider `{provider}` (see `floe get inventory`)"
                    ))
                    .into());
                }
                _ => {
                    return Err(CtlError::Ambiguous {
                        name: provider,
                        what: "providers",
                        candidates: ids.join(", "),
                    }
                    .into());
                }
            };
            let hosts: Vec<String> = inventories
                .iter()
                .filter(|inv| inv.providers.iter().any(|p| p.provider_id == id))
                .map(|inv| inv.host.host_id.clone())
                .collect();
            for h in &hosts {
                ctx.client
                    .stop_provider(h, &id)
                    .await
                    .with_context(|| format!("on host {h}"))?;
            }
            report(
                ctx,
                json!({ "provider_id": id, "hosts": hosts }),
                &format!("Provider {id} stopped on {} host(s)", hosts.len()),
            )
        }
        StopCommand::Host { host } => {
            let id = ctx.client.resolve_host(&host, ctx.global.window).await?;
            ctx.client.stop_host(&id).await?;
            report(
                ctx,
                json!({ "stopped_host": id }),
                &format!("Host {id} is stopping (in-flight calls finish first)"),
            )
        }
        StopCommand::Actor { actor, host } => {
            let (actor, hosts) = targets(ctx, &actor, host.as_deref()).await?;
            for h in &hosts {
                ctx.client
                    .stop_actor(h, &actor)
                    .await
                    .with_context(|| format!("on host {h}"))?;
            }
            report(
                ctx,
                json!({ "actor_id": actor, "hosts": hosts }),
                &format!("Actor {actor} stopped on {} host(s)", hosts.len()),
            )
        }
    }
}

pub async fn scale(ctx: &Lattice, cmd: ScaleCommand) -> anyhow::Result<()> {
    let ScaleCommand::Actor {
        actor,
        max_concurrent,
        host,
    } = cmd;
    let (actor, hosts) = targets(ctx, &actor, host.as_deref()).await?;
    for h in &hosts {
        ctx.client
            .scale_actor(h, &actor, max_concurrent)
            .await
            .with_context(|| format!("on host {h}"))?;
    }
    report(
        ctx,
        json!({ "actor_id": actor, "hosts": hosts, "max_concurrent": max_concurrent }),
        &format!(
            "Actor {actor} scaled to {max_concurrent} on {} host(s)",
            hosts.len()
        ),
    )
}

pub async fn update(ctx: &Lattice, cmd: UpdateCommand) -> anyhow::Result<()> {
    let UpdateCommand::Actor {
        actor,
        reference,
        host,
    } = cmd;
    let reference = absolute(&reference)?;
    let (actor, hosts) = targets(ctx, &actor, host.as_deref()).await?;
    let mut updated = Vec::new();
    for h in &hosts {
        updated.push(
            ctx.client
                .update_actor(h, &actor, &reference)
                .await
                .with_context(|| format!("cannot update on host {h}"))?,
        );
    }
    let version = updated
        .first()
        .map(|u| u.version.clone())
        .unwrap_or_default();
    report(
        ctx,
        json!({ "actor_id": actor, "hosts": hosts, "version": version }),
        &format!(
            "Actor {actor} updated to {version} on {} host(s)",
            hosts.len()
        ),
    )
}

/// The actor id and the hosts to act on: `--host`, else every host running it.
async fn targets(
    ctx: &Lattice,
    actor: &str,
    host: Option<&str>,
) -> anyhow::Result<(String, Vec<String>)> {
    let window = ctx.global.window;
    if let Some(h) = host {
        let actor = ctx.client.resolve_actor(actor, window).await?;
        return Ok((actor, vec![ctx.client.resolve_host(h, window).await?]));
    }
    // One sweep of the lattice both resolves the name and finds the hosts:
    // the whole window, so a host that joined a moment ago is not missed.
    let inventories = ctx.client.inventories(window).await?;
    let actor = CtlClient::actor_in(&inventories, actor)?;
    let hosts: Vec<String> = inventories
        .into_iter()
        .filter(|inv| inv.actors.iter().any(|a| a.actor_id == actor))
        .map(|inv| inv.host.host_id)
        .collect();
    if hosts.is_empty() {
        return Err(CtlError::NotFound(format!(
            "no host runs actor {actor} (see `floe get inventory`)"
        ))
        .into());
    }
    Ok((actor, hosts))
}

fn report(ctx: &Lattice, json: serde_json::Value, text: &str) -> anyhow::Result<()> {
    match ctx.global.output {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(ctx.global.output, &json),
        OutputFormat::Text => {
            println!("{text}");
            Ok(())
        }
    }
}

/// A reference as a host reads it: `floe://…` as is, a path made absolute.
fn absolute(path: &Path) -> anyhow::Result<String> {
    if let Some(text) = path.to_str()
        && text.starts_with(floe_wire::artifact::SCHEME)
    {
        return Ok(text.to_owned());
    }
    let abs = std::fs::canonicalize(path).map_err(|e| match e.kind() {
        // Nothing there: the same status as a host's `no_artifact`.
        std::io::ErrorKind::NotFound => anyhow::Error::new(CtlError::NotFound(format!(
            "cannot find {}; check the path",
            path.display()
        ))),
        _ => anyhow!("cannot read {}: {e}", path.display()),
    })?;
    abs.to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{} is not valid UTF-8; rename it", abs.display()))
}

fn describe_constraints(constraints: &[(String, String)]) -> String {
    if constraints.is_empty() {
        return "(no host answered the auction)".to_owned();
    }
    constraints
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
