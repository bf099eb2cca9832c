//! `floe get hosts`, `floe get inventory`, `floe get actors`, `floe get
//! providers` (summed over the hosts), `floe label put|del`.

use floe_ctl::summary::{ActorSummary, ProviderSummary, RunningClaims};
use floe_wire::control::{HostInventory, StringMap};

use clap::Subcommand;

use super::lattice::Lattice;
use crate::args::parse_key_value;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// Every host on the lattice.
    Hosts,
    /// What a host runs (every host when none is named).
    Inventory {
        /// A host id or a unique prefix of one.
        host: Option<String>,
    },
    /// Every link of the lattice.
    Links,
    /// Every actor on the lattice, summed over the hosts running it.
    Actors,
    /// Every provider on the lattice, summed over the hosts running it.
    Providers,
    /// The artifacts stored in the lattice (`floe push`), with their tags.
    Artifacts,
    /// The verified claims of every running actor and signed provider: issuer, version, capabilities, expiry.
    Claims,
    /// An actor's config: its replicas' own, the lattice's stored values, the secrets it reads (by name).
    Config {
        /// An actor id or unique name.
        actor: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LabelCommand {
    /// Set a label `key=value` on a host.
    Put {
        /// A host id or a unique prefix of one.
        host: String,
        /// `key=value`.
        #[arg(value_parser = parse_key_value)]
        label: (String, String),
    },
    /// Remove a label from a host.
    Del {
        /// A host id or a unique prefix of one.
        host: String,
        /// The label's key.
        key: String,
    },
}

pub async fn get(ctx: &Lattice, cmd: GetCommand) -> anyhow::Result<()> {
    let window = ctx.global.window;
    match cmd {
        GetCommand::Hosts => hosts(ctx).await,
        GetCommand::Links => super::links::list(ctx).await,
        GetCommand::Artifacts => super::artifacts::list(ctx).await,
        GetCommand::Config { actor } => super::config::show(ctx, &actor).await,
        GetCommand::Claims => {
            let claims = floe_ctl::summary::claims(&ctx.client.inventories(window).await?);
            if !ctx.global.output.is_text() {
                return output::print_data(ctx.global.output, &claims);
            }
            print_claims(&claims)
        }
        GetCommand::Actors => {
            let actors = floe_ctl::summary::actors(&ctx.client.inventories(window).await?);
            match ctx.global.output {
                OutputFormat::Json | OutputFormat::Yaml => {
                    output::print_data(ctx.global.output, &actors)
                }
                OutputFormat::Text => print_actors(&actors),
            }
        }
        GetCommand::Providers => {
            let providers = floe_ctl::summary::providers(&ctx.client.inventories(window).await?);
            match ctx.global.output {
                OutputFormat::Json | OutputFormat::Yaml => {
                    output::print_data(ctx.global.output, &providers)
                }
                OutputFormat::Text => print_providers(&providers),
            }
        }
        GetCommand::Inventory { host } => {
            let inventories = match host {
                Some(host) => {
                    let id = ctx.client.resolve_host(&host, window).await?;
                    vec![ctx.client.inventory(&id).await?]
                }
                None => ctx.client.inventories(window).await?,
            };
            match ctx.global.output {
                OutputFormat::Json | OutputFormat::Yaml => {
                    output::print_data(ctx.global.output, &inventories)
                }
                OutputFormat::Text => print_inventories(&inventories),
            }
        }
    }
}

/// `floe get hosts`.
async fn hosts(ctx: &Lattice) -> anyhow::Result<()> {
    let window = ctx.global.window;
    let hosts = ctx.client.ping_hosts(window).await?;
    if !ctx.global.output.is_text() {
        return output::print_data(ctx.global.output, &hosts);
    }
    if hosts.is_empty() {
        println!(
            "No host answered on lattice `{}` within {window:?}: start one with `floe up`, or check that \
             this CLI has the lattice's cluster seed (hosts ignore requests sealed with another).",
            ctx.client.lattice()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = hosts
        .iter()
        .map(|h| {
            vec![
                h.host_id.clone(),
                format_uptime(h.uptime_secs),
                h.actors.to_string(),
                h.providers.to_string(),
                h.version.clone(),
                h.target.clone(),
                format_labels(&h.labels),
            ]
        })
        .collect();
    output::print_table(
        &[
            "HOST",
            "UPTIME",
            "ACTORS",
            "PROVIDERS",
            "VERSION",
            "TARGET",
            "LABELS",
        ],
        &rows,
    )
}

pub async fn label(ctx: &Lattice, cmd: LabelCommand) -> anyhow::Result<()> {
    let window = ctx.global.window;
    let labels = match cmd {
        LabelCommand::Put { host, label } => {
            let id = ctx.client.resolve_host(&host, window).await?;
            ctx.client.put_label(&id, &label.0, &label.1).await?
        }
        LabelCommand::Del { host, key } => {
            let id = ctx.client.resolve_host(&host, window).await?;
            ctx.client.del_label(&id, &key).await?
        }
    };
    match ctx.global.output {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(ctx.global.output, &labels),
        OutputFormat::Text => {
            println!("Labels now: {}", format_labels(&labels));
            Ok(())
        }
    }
}

fn print_inventories(inventories: &[HostInventory]) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for inv in inventories {
        for a in &inv.actors {
            let failures: u64 = a.failures.values().sum();
            rows.push(vec![
                inv.host.host_id.clone(),
                a.name.clone(),
                a.actor_id.clone(),
                a.version.clone(),
                a.max_concurrent.to_string(),
                a.calls.to_string(),
                failures.to_string(),
            ]);
        }
    }
    if rows.is_empty() {
        println!("No actors running (start one with `floe start actor FILE`).");
    } else {
        output::print_table(
            &["HOST", "NAME", "ACTOR", "VERSION", "MAX", "CALLS", "FAILED"],
            &rows,
        )?;
    }
    let providers: Vec<Vec<String>> = inventories
        .iter()
        .flat_map(|inv| {
            inv.providers.iter().map(|p| {
                vec![
                    inv.host.host_id.clone(),
                    p.name.clone(),
                    p.provider_id.clone(),
                    serde_json::to_value(p.health)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    p.restarts.to_string(),
                ]
            })
        })
        .collect();
    if !providers.is_empty() {
        println!();
        output::print_table(
            &["HOST", "NAME", "PROVIDER", "HEALTH", "RESTARTS"],
            &providers,
        )?;
    }
    Ok(())
}

fn print_actors(actors: &[ActorSummary]) -> anyhow::Result<()> {
    if actors.is_empty() {
        println!("No actors running (start one with `floe start actor FILE`).");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = actors
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.actor_id.clone(),
                a.versions.iter().cloned().collect::<Vec<_>>().join(","),
                a.replicas.len().to_string(),
                format!("{}/{}", a.active, a.replicas.len()),
                a.max_concurrent.to_string(),
                a.calls.to_string(),
                a.failures.to_string(),
            ]
        })
        .collect();
    output::print_table(
        &[
            "NAME", "ACTOR", "VERSIONS", "HOSTS", "ACTIVE", "MAX", "CALLS", "FAILED",
        ],
        &rows,
    )
}

fn print_claims(claims: &[RunningClaims]) -> anyhow::Result<()> {
    if claims.is_empty() {
        println!(
            "Nothing signed is running (start an actor with `floe start actor FILE`, a provider archive with `floe start provider ARCHIVE`)."
        );
        return Ok(());
    }
    let join = |caps: &[floe_wire::Capability]| {
        caps.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let expires = |exp: Option<u64>| exp.map_or_else(|| "never".to_owned(), output::unix_time);
    let rows: Vec<Vec<String>> = claims
        .iter()
        .map(|c| match c {
            RunningClaims::Actor(c) => vec![
                c.floe.name.clone(),
                "actor".to_owned(),
                c.sub.clone(),
                format!("{} (rev {})", c.floe.version, c.floe.revision),
                c.iss.clone(),
                join(&c.floe.caps),
                expires(c.exp),
            ],
            RunningClaims::Provider(c) => vec![
                c.floe.name.clone(),
                "provider".to_owned(),
                c.sub.clone(),
                format!("{} (rev {})", c.floe.version, c.floe.revision),
                c.iss.clone(),
                join(&c.floe.implements),
                expires(c.exp),
            ],
        })
        .collect();
    output::print_table(
        &[
            "NAME",
            "KIND",
            "ID",
            "VERSION",
            "ISSUER",
            "CAPABILITIES / IMPLEMENTS",
            "EXPIRES",
        ],
        &rows,
    )
}

fn print_providers(providers: &[ProviderSummary]) -> anyhow::Result<()> {
    if providers.is_empty() {
        println!("No providers running (start one with `floe start provider ARCHIVE`).");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = providers
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.provider_id.clone(),
                if p.versions.is_empty() {
                    "(unsigned)".to_owned()
                } else {
                    p.versions.iter().cloned().collect::<Vec<_>>().join(",")
                },
                format!("{}/{}", p.healthy, p.replicas.len()),
                p.replicas
                    .iter()
                    .map(|r| r.restarts)
                    .sum::<u32>()
                    .to_string(),
            ]
        })
        .collect();
    output::print_table(
        &["NAME", "PROVIDER", "VERSION", "HEALTHY", "RESTARTS"],
        &rows,
    )
}

fn format_labels(labels: &StringMap) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn format_uptime(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}
