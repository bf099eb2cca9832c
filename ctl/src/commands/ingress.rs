//! `floe ingress put|list|del|test` (docs/ingress.md): routes from host
//! names and paths to actors, served by every host started with
//! `--ingress`. A target given by name is resolved to its actor id here;
//! `test` shows which route a URL would reach, and why, without sending it.

use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use floe_wire::app::APP_ANNOTATION;
use floe_wire::ingress::{Canary, HostMatch, PathKind, Request, Route, RouteTable};
use serde::Serialize;

use super::lattice::Lattice;
use crate::args::parse_key_value;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum IngressCommand {
    /// Store a route (a new one, or a change of the route of that name): applied on every ingress host at once.
    Put(PutArgs),
    /// List the routes, each marked when its target has no replica.
    List,
    /// Delete a route.
    Del {
        /// The route's name.
        name: String,
    },
    /// Show which route a URL would reach, and why (nothing is sent).
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// The route's name: 1 to 64 letters, digits, `-` or `_`.
    pub name: String,
    /// The actor that answers (id, unique name, or `app/component`).
    #[arg(long)]
    pub target: String,
    /// Another actor answering a percentage of the requests, `ACTOR=PERCENT` (repeatable; the target answers the rest).
    #[arg(long = "canary", value_parser = parse_key_value, value_name = "ACTOR=PERCENT")]
    pub canaries: Vec<(String, String)>,
    /// A host name it serves: exact, or `*.example.com` (repeatable; none: any host).
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// The path: a prefix matched segment by segment (`/api` matches `/api/x`, not `/apix`).
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Match the path exactly instead of as a prefix.
    #[arg(long)]
    pub exact: bool,
    /// Only these methods (repeatable; none: any).
    #[arg(long = "method", value_name = "METHOD")]
    pub methods: Vec<String>,
    /// Only requests carrying this header with this value, `name=value` (repeatable).
    #[arg(long = "header", value_parser = parse_key_value, value_name = "NAME=VALUE")]
    pub headers: Vec<(String, String)>,
    /// Remove the matched prefix from the path the actor sees.
    #[arg(long)]
    pub strip_prefix: bool,
    /// Serve these hosts over TLS with the certificate chain and key (PEM) in this secret (`floe secret put NAME --allow @ingress`).
    #[arg(long, value_name = "SECRET")]
    pub tls: Option<String>,
    /// Redirect plain-HTTP requests of this route to HTTPS.
    #[arg(long)]
    pub https_redirect: bool,
    /// How long a request may take (default: each ingress host's --ingress-timeout).
    #[arg(long, value_parser = floe_wire::duration::parse_flag_duration)]
    pub request_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The URL, e.g. `http://b.example.com/api/users`.
    pub url: String,
    /// A header, `Name: value` (repeatable); `Host:` overrides the URL's host.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
}

/// A route as listed.
#[derive(Debug, Serialize)]
struct Listed {
    #[serde(flatten)]
    route: Route,
    /// Replicas of its target now (0: requests get 503).
    replicas: usize,
    /// Its targets (canaries included) that have no replica now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    without_replicas: Vec<String>,
}

pub async fn ingress(ctx: &Lattice, cmd: IngressCommand) -> anyhow::Result<()> {
    let window = ctx.global.window;
    match cmd {
        IngressCommand::Put(args) => {
            refuse_app_route(ctx, &args.name).await?;
            let mut canary = Vec::new();
            for (actor, weight) in &args.canaries {
                let Ok(weight) = weight.trim_end_matches('%').parse::<u32>() else {
                    bail!("--canary {actor}={weight}: the weight is a percentage, 1 to 100");
                };
                canary.push(Canary {
                    target: ctx.client.resolve_actor(actor, window).await?,
                    weight,
                });
            }
            let route = Route {
                name: args.name.clone(),
                hosts: args.hosts,
                path: args.path,
                path_kind: if args.exact {
                    PathKind::Exact
                } else {
                    PathKind::Prefix
                },
                methods: args.methods,
                headers: args.headers.into_iter().collect(),
                target: ctx.client.resolve_actor(&args.target, window).await?,
                canary,
                strip_prefix: args.strip_prefix,
                timeout_ms: args
                    .request_timeout
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                tls: args.tls,
                https_redirect: args.https_redirect,
                ..Default::default()
            };
            let stored = ctx
                .client
                .put_route(route)
                .await
                .with_context(|| format!("cannot store route {}", args.name))?;
            match ctx.global.output {
                OutputFormat::Text => {
                    println!(
                        "Route {} stored: {} → {}",
                        stored.name,
                        describe(&stored),
                        targets(&stored)
                    );
                    Ok(())
                }
                format => output::print_data(format, &stored),
            }
        }
        IngressCommand::List => list(ctx).await,
        IngressCommand::Del { name } => {
            refuse_app_route(ctx, &name).await?;
            ctx.client.delete_route(&name).await?;
            match ctx.global.output {
                OutputFormat::Text => {
                    println!("Route {name} deleted");
                    Ok(())
                }
                format => {
                    output::print_data(format, &serde_json::json!({"name": name, "deleted": true}))
                }
            }
        }
        IngressCommand::Test(args) => test(ctx, &args).await,
    }
}

/// An app's route is kept by the reconciler as the app's manifest says: a
/// change made here would be undone.
async fn refuse_app_route(ctx: &Lattice, name: &str) -> anyhow::Result<()> {
    let routes = ctx.client.list_routes().await?;
    if let Some(app) = routes
        .iter()
        .find(|r| r.name == name)
        .and_then(|r| r.annotations.get(APP_ANNOTATION))
    {
        bail!(
            "route {name} belongs to app {app}: change it in the app's manifest (`routes:`) and `floe app apply` it"
        );
    }
    Ok(())
}

/// The actors a route sends to, with the canaries' shares.
fn targets(route: &Route) -> String {
    let mut text = route.target.clone();
    for canary in &route.canary {
        text.push_str(&format!(", {}% to {}", canary.weight, canary.target));
    }
    text
}

/// `hosts path` of a route, for people.
fn describe(route: &Route) -> String {
    let hosts = if route.hosts.is_empty() {
        "*".to_owned()
    } else {
        route.hosts.join(",")
    };
    let kind = match route.path_kind {
        PathKind::Exact => "exact",
        PathKind::Prefix => "prefix",
    };
    format!("{hosts} {} ({kind})", route.path)
}

async fn list(ctx: &Lattice) -> anyhow::Result<()> {
    let routes = ctx.client.list_routes().await?;
    let inventories = ctx.client.inventories(ctx.global.window).await?;
    let listed: Vec<Listed> = routes
        .into_iter()
        .map(|route| {
            let replicas_of = |target: &str| {
                inventories
                    .iter()
                    .filter(|i| i.actors.iter().any(|a| a.actor_id == target))
                    .count()
            };
            let without_replicas = route
                .targets()
                .filter(|t| replicas_of(t) == 0)
                .map(str::to_owned)
                .collect();
            Listed {
                replicas: replicas_of(&route.target),
                without_replicas,
                route,
            }
        })
        .collect();
    match ctx.global.output {
        OutputFormat::Text => {
            if listed.is_empty() {
                println!(
                    "No routes (add one with `floe ingress put NAME --host HOST --path /p --target ACTOR`)"
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = listed
                .iter()
                .map(|l| {
                    let mut target = match l.replicas {
                        0 => format!("{} (no replica: 503)", l.route.target),
                        n => format!("{} ({n})", l.route.target),
                    };
                    for canary in &l.route.canary {
                        let missing = l.without_replicas.contains(&canary.target);
                        target.push_str(&format!(
                            ", {}% to {}{}",
                            canary.weight,
                            canary.target,
                            if missing { " (no replica: 503)" } else { "" }
                        ));
                    }
                    vec![l.route.name.clone(), describe(&l.route), target]
                })
                .collect();
            output::print_table(&["NAME", "MATCH", "TARGET (REPLICAS)"], &rows)
        }
        format => output::print_data(format, &listed),
    }
}

async fn test(ctx: &Lattice, args: &TestArgs) -> anyhow::Result<()> {
    let uri: http::Uri = args
        .url
        .parse()
        .with_context(|| format!("{} is not a URL", args.url))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            bail!("`{header}` is not a header `Name: value`");
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let host = headers
        .iter()
        .find(|(n, _)| n == "host")
        .map(|(_, v)| v.clone())
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default();
    let table = RouteTable::new(ctx.client.list_routes().await?);
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let found = table.find(&Request {
        host: &host,
        path: uri.path(),
        method: &args.method,
        header: &lookup,
    });
    let Some((route, by)) = found else {
        bail!(
            "no route matches host {host:?} path {:?} ({} routes): ingress answers 404",
            uri.path(),
            table.len()
        );
    };
    let why = match (by, route.path_kind) {
        (HostMatch::Exact, _) => format!("the exact host {host}"),
        (HostMatch::Wildcard, _) => "a wildcard host (no exact host route matched)".to_owned(),
        (HostMatch::Any, _) => "a route for any host (no host route matched)".to_owned(),
    };
    let path = match route.path_kind {
        PathKind::Exact => format!("the exact path {}", route.path),
        PathKind::Prefix => format!("the longest matching prefix {}", route.path),
    };
    match ctx.global.output {
        OutputFormat::Text => {
            println!(
                "{} {} → route {} → {}\n  matched by {why}, then {path}; the actor sees {}",
                args.method,
                args.url,
                route.name,
                targets(route),
                route.forwarded_path(uri.path_and_query().map_or("/", |p| p.as_str()))
            );
            Ok(())
        }
        format => output::print_data(format, route),
    }
}
