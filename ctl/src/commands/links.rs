//! `floe link put|del` and `floe get links`.

use anyhow::Context as _;
use floe_wire::Link;
use floe_wire::link::{LINK_VERSION, parse_interfaces, parse_link_name, parse_package};

use super::Lattice;
use crate::cli::LinkCommand;
use crate::output::{self, OutputFormat};

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

pub async fn list(ctx: &Lattice) -> anyhow::Result<()> {
    let links = ctx.client.links_checked().await?;
    match ctx.global.output {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(ctx.global.output, &links),
        OutputFormat::Text if links.is_empty() => {
            println!("No links (add one with `floe link put SOURCE TARGET ns:pkg/iface`).");
            Ok(())
        }
        OutputFormat::Text => {
            let rows: Vec<Vec<String>> = links
                .iter()
                .map(|l| {
                    vec![
                        l.source.clone(),
                        l.target.clone(),
                        format!("{}/{{{}}}", l.package, l.interfaces.join(",")),
                        l.link_name.clone(),
                    ]
                })
                .collect();
            output::print_table(&["SOURCE", "TARGET", "INTERFACES", "NAME"], &rows)
        }
    }
}
