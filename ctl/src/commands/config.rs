//! `floe config put|unset` and `floe get config`: an actor's config stored
//! in the lattice, which every replica on every host reads from its next
//! call, over the config its start or app gave it (docs/secrets.md).

use std::collections::BTreeMap;

use clap::Subcommand;
use floe_wire::control::StringMap;
use serde::Serialize;

use super::lattice::Lattice;
use crate::args::parse_key_value;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Set config values of an actor on every host, applied to running replicas without a restart.
    Put {
        /// An actor id or unique name.
        actor: String,
        /// `key=value` pairs.
        #[arg(required = true, value_parser = parse_key_value)]
        values: Vec<(String, String)>,
    },
    /// Remove stored config values of an actor (its start's or app's values show again).
    Unset {
        /// An actor id or unique name.
        actor: String,
        /// The keys to remove.
        #[arg(required = true)]
        keys: Vec<String>,
    },
}

/// What `floe get config` shows of one replica.
#[derive(Debug, Serialize)]
struct Replica {
    host_id: String,
    /// The config its start or app gave it.
    config: StringMap,
    /// `wasi:config` key → secret name.
    secrets: StringMap,
}

#[derive(Debug, Serialize)]
struct Shown {
    actor_id: String,
    /// Stored in the lattice (`floe config put`), over each replica's own.
    stored: StringMap,
    replicas: Vec<Replica>,
}

pub async fn config(ctx: &Lattice, cmd: ConfigCommand) -> anyhow::Result<()> {
    let window = ctx.global.window;
    let (actor, set, unset) = match cmd {
        ConfigCommand::Put { actor, values } => (actor, values.into_iter().collect(), Vec::new()),
        ConfigCommand::Unset { actor, keys } => (actor, StringMap::new(), keys),
    };
    let actor = ctx.client.resolve_actor(&actor, window).await?;
    let stored = ctx.client.change_config(&actor, &set, &unset).await?;
    match ctx.global.output {
        OutputFormat::Text => {
            let keys: Vec<&str> = set
                .keys()
                .map(String::as_str)
                .chain(unset.iter().map(String::as_str))
                .collect();
            println!(
                "Config of {actor} stored ({}); running replicas read it from their next call",
                keys.join(", ")
            );
            Ok(())
        }
        format => output::print_data(
            format,
            &serde_json::json!({"actor_id": actor, "stored": stored.values}),
        ),
    }
}

/// `floe get config ACTOR`.
pub async fn show(ctx: &Lattice, actor: &str) -> anyhow::Result<()> {
    let window = ctx.global.window;
    let actor_id = ctx.client.resolve_actor(actor, window).await?;
    let stored = ctx.client.stored_config(&actor_id).await?.values;
    let replicas: Vec<Replica> = ctx
        .client
        .inventories_for_lookup(window)
        .await?
        .into_iter()
        .flat_map(|inv| {
            let host = inv.host.host_id;
            inv.actors
                .into_iter()
                .filter(|a| a.actor_id == actor_id)
                .map(move |a| Replica {
                    host_id: host.clone(),
                    config: a.config.unwrap_or_default(),
                    secrets: a.secrets.unwrap_or_default(),
                })
        })
        .collect();
    let shown = Shown {
        actor_id,
        stored,
        replicas,
    };
    match ctx.global.output {
        OutputFormat::Text => print_text(&shown),
        format => output::print_data(format, &shown),
    }
}

fn print_text(shown: &Shown) -> anyhow::Result<()> {
    // What a call reads: the replica's own, then stored values, then secrets.
    let mut rows = Vec::new();
    let none = Replica {
        host_id: "-".into(),
        config: StringMap::new(),
        secrets: StringMap::new(),
    };
    let replicas = match shown.replicas.is_empty() {
        true => std::slice::from_ref(&none),
        false => &shown.replicas[..],
    };
    for replica in replicas {
        let mut effective: BTreeMap<&str, (String, &str)> = BTreeMap::new();
        for (k, v) in &replica.config {
            effective.insert(k, (v.clone(), "start"));
        }
        for (k, v) in &shown.stored {
            effective.insert(k, (v.clone(), "stored"));
        }
        for (k, name) in &replica.secrets {
            effective.insert(k, (format!("secret {name}"), "secret"));
        }
        for (k, (value, from)) in effective {
            rows.push(vec![
                short(&replica.host_id),
                k.to_owned(),
                value,
                from.to_owned(),
            ]);
        }
    }
    if rows.is_empty() {
        println!("{} has no config", shown.actor_id);
        return Ok(());
    }
    output::print_table(&["HOST", "KEY", "VALUE", "FROM"], &rows)
}

fn short(id: &str) -> String {
    id.get(..12)
        .map_or_else(|| id.to_owned(), |k| format!("{k}…"))
}
