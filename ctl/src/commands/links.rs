//! `floe link put|del` and `floe get links`.

use anyhow::Context as _;
use floe_wire::Link;
use floe_wire::control::HostInventory;
use floe_wire::link::{LINK_VERSION, parse_interfaces, parse_link_name, parse_package};

use clap::{Args, Subcommand};

use super::lattice::Lattice;
use crate::args::parse_key_value;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Route SOURCE's imports of INTERFACES to TARGET (applied at once on every host).
    Put(LinkPutArgs),
    /// Remove a link.
    Del {
        /// The source: an actor or provider (id or unique name).
        source: String,
        /// The WIT package, `ns:pkg`.
        package: String,
        /// The link's name (links of one source and package differ by it).
        #[arg(long, default_value = "default")]
        link_name: String,
    },
}

#[derive(Debug, Args)]
pub struct LinkPutArgs {
    /// The source: the importing actor, or a provider calling actors (id or unique name).
    pub source: String,
    /// The entity that answers (id or unique name).
    pub target: String,
    /// `ns:pkg/iface[,iface…]`: interfaces of one package.
    pub interfaces: String,
    /// The link's name: a source has one link per package and name.
    #[arg(long, default_value = "default")]
    pub link_name: String,
    /// Configuration for the source side, `key=value` (repeatable).
    #[arg(long = "source-config", value_parser = parse_key_value)]
    pub source_config: Vec<(String, String)>,
    /// Configuration for the target side, `key=value` (repeatable).
    #[arg(long = "target-config", value_parser = parse_key_value)]
    pub target_config: Vec<(String, String)>,
    /// An annotation `key=value` (repeatable).
    #[arg(long = "annotation", value_parser = parse_key_value)]
    pub annotations: Vec<(String, String)>,
}

pub async fn link(ctx: &Lattice, cmd: LinkCommand) -> anyhow::Result<()> {
    let window = ctx.global.window;
    match cmd {
        LinkCommand::Put(args) => {
            let (package, interfaces) = parse_interfaces(&args.interfaces)?;
            let link = Link {
                v: LINK_VERSION,
                source: ctx.client.resolve_entity(&args.source, window).await?,
                target: ctx.client.resolve_entity(&args.target, window).await?,
                package,
                interfaces,
                link_name: parse_link_name(&args.link_name)?,
                source_config: args.source_config.into_iter().collect(),
                target_config: args.target_config.into_iter().collect(),
                annotations: args.annotations.into_iter().collect(),
            };
            let inventories = ctx.client.inventories_for_lookup(window).await?;
            refuse_unclaimed(&link, &inventories)?;
            ctx.client
                .put_link(&link)
                .await
                .context("cannot store the link")?;
            match ctx.global.output {
                OutputFormat::Json | OutputFormat::Yaml => {
                    output::print_data(ctx.global.output, &link)
                }
                OutputFormat::Text => {
                    println!(
                        "Linked {} → {} for {}/{{{}}} (link name {})",
                        link.source,
                        link.target,
                        link.package,
                        link.interfaces.join(","),
                        link.link_name
                    );
                    Ok(())
                }
            }
        }
        LinkCommand::Del {
            source,
            package,
            link_name,
        } => {
            let source = ctx.client.resolve_entity(&source, window).await?;
            let package = parse_package(&package)?;
            ctx.client
                .delete_link(&source, &package, &link_name)
                .await?;
            match ctx.global.output {
                OutputFormat::Json | OutputFormat::Yaml => output::print_data(
                    ctx.global.output,
                    &serde_json::json!({
                        "source": source, "package": package, "link_name": link_name, "deleted": true
                    }),
                ),
                OutputFormat::Text => {
                    println!("Link `{link_name}` for {package} from {source} deleted");
                    Ok(())
                }
            }
        }
    }
}

/// Refuses a link whose source is a running actor that neither claims nor
/// may import the linked interfaces: such a link could never route a call.
fn refuse_unclaimed(link: &Link, inventories: &[HostInventory]) -> anyhow::Result<()> {
    let Some(actor) = inventories
        .iter()
        .flat_map(|i| &i.actors)
        .find(|a| a.actor_id == link.source)
    else {
        return Ok(());
    };
    let Some(claims) = &actor.claims else {
        return Ok(());
    };
    let unclaimed: Vec<String> = link
        .interfaces
        .iter()
        .map(|iface| format!("{}/{iface}", link.package))
        .filter(|import| !claims.grants(import))
        .collect();
    if unclaimed.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} ({}) does not claim {}: its imports of them could never be linked. \
         Re-sign it claiming them (`floe claims sign --cap {}`; `floe build` claims what a component imports), \
         or check the interface names",
        actor.name,
        actor.actor_id,
        unclaimed.join(", "),
        unclaimed[0]
    )
}

/// `name (id…)` for an entity the lattice runs, else the id.
fn named(id: &str, inventories: &[HostInventory]) -> String {
    let name = inventories.iter().find_map(|i| {
        i.actors
            .iter()
            .find(|a| a.actor_id == id)
            .map(|a| a.name.clone())
            .or_else(|| {
                i.providers
                    .iter()
                    .find(|p| p.provider_id == id)
                    .map(|p| p.name.clone())
            })
    });
    match name {
        Some(name) => format!("{name} ({}…)", id.chars().take(8).collect::<String>()),
        None => id.to_owned(),
    }
}

pub async fn list(ctx: &Lattice) -> anyhow::Result<()> {
    let links = ctx.client.links_checked().await?;
    match ctx.global.output {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(ctx.global.output, &links),
        OutputFormat::Text if links.is_empty() => {
            println!("No links (add one with `floe link put SOURCE TARGET ns:pkg/iface`).");
            Ok(())
        }
        OutputFormat::Text => {
            let inventories = ctx.client.inventories_for_lookup(ctx.global.window).await?;
            let rows: Vec<Vec<String>> = links
                .iter()
                .map(|l| {
                    vec![
                        named(&l.source, &inventories),
                        named(&l.target, &inventories),
                        format!("{}/{{{}}}", l.package, l.interfaces.join(",")),
                        l.link_name.clone(),
                    ]
                })
                .collect();
            output::print_table(&["SOURCE", "TARGET", "INTERFACES", "NAME"], &rows)
        }
    }
}
