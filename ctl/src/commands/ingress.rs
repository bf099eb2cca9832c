//! `floe ingress put|list|del|test` (docs/ingress.md): routes from host
//! names and paths to actors, served by every host started with
//! `--ingress`. A target given by name is resolved to its actor id here;
//! `test` shows which route a URL would reach, and why, without sending it.

use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use floe_wire::ingress::{HostMatch, PathKind, Request, Route, RouteTable};
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
    /// The actor that answers (id or unique name).
    #[arg(long)]
    pub target: String,
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
}

pub async fn ingress(ctx: &Lattice, cmd: IngressCommand) -> anyhow::Result<()> {
    let window = ctx.global.window;
    match cmd {
        IngressCommand::Put(args) => {
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
                strip_prefix: args.strip_prefix,
                timeout_ms: args
                    .request_timeout
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                tls: args.tls,
                https_redirect: args.https_redirect,
                created_ms: 0,
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
                        stored.target
                    );
                    Ok(())
                }
                format => output::print_data(format, &stored),
            }
        }
        IngressCommand::List => list(ctx).await,
        IngressCommand::Del { name } => {
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
            let replicas = inventories
                .iter()
                .filter(|i| i.actors.iter().any(|a| a.actor_id == route.target))
                .count();
            Listed { route, replicas }
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
                    let target = match l.replicas {
                        0 => format!("{} (no replica: 503)", l.route.target),
                        n => format!("{} ({n})", l.route.target),
                    };
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
                route.target,
                route.forwarded_path(uri.path_and_query().map_or("/", |p| p.as_str()))
            );
            Ok(())
        }
        format => output::print_data(format, route),
    }
}
