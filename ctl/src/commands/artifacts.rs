//! `floe push FILE [--name NAME:TAG]` and `floe get artifacts`: signed actor
//! components and provider archives stored in the lattice's object store by
//! digest, so every host can start them from `floe://sha256:…` or
//! `floe://NAME:TAG`.

use std::path::PathBuf;

use std::collections::BTreeMap;

use anyhow::Context as _;
use floe_lattice::{apps, artifacts};
use floe_wire::artifact::{ArtifactKind, ArtifactRef, ArtifactTag};
use serde::Serialize;

use anyhow::bail;
use clap::{Args, Subcommand};

use super::lattice::Lattice;
use crate::output;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// A signed actor component (`floe claims sign`) or provider archive (`floe provider package`).
    pub file: PathBuf,
    /// Also name it NAME:TAG (start it with `floe start actor|provider floe://NAME:TAG`).
    #[arg(long, value_name = "NAME:TAG")]
    pub name: Option<String>,
    /// With --name: remove the artifact the tag named before, when no other
    /// tag names it and nothing running was started from it.
    #[arg(long, requires = "name")]
    pub replace: bool,
}

/// The largest artifact pushed (a host accepts up to this too).
const MAX_ARTIFACT: u64 = 256 << 20;

#[derive(Debug, Serialize)]
struct Pushed {
    digest: String,
    reference: String,
    tag_reference: Option<String>,
    size: u64,
    kind: ArtifactKind,
    /// The actor id (`M…`) or provider id (`V…`) its claims name.
    id: String,
    name: String,
    version: String,
    /// For a provider archive: the targets it has binaries for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    targets: Vec<String>,
}

/// What a file to push is, once verified as a host would.
struct Verified {
    kind: ArtifactKind,
    id: String,
    name: String,
    version: String,
    targets: Vec<String>,
}

/// Only what a host would run goes into the lattice: a signed, untampered
/// component or provider archive.
fn verify(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<Verified> {
    if floe_wire::archive::looks_like_archive(bytes) {
        let archive = floe_wire::archive::open(bytes, unix_now(), &Default::default())
            .with_context(|| {
                format!(
                    "{} refused: only signed, untampered provider archives are pushed (make one with `floe provider package`)",
                    path.display()
                )
            })?;
        let targets = archive.targets();
        let claims = archive.claims;
        return Ok(Verified {
            kind: ArtifactKind::Provider,
            id: claims.sub,
            name: claims.floe.name,
            version: claims.floe.version,
            targets,
        });
    }
    let claims = floe_wire::claims::verify(bytes, unix_now(), &Default::default())
        .with_context(|| {
            format!(
                "{} refused: only signed, untampered components are pushed (sign it with `floe claims sign`)",
                path.display()
            )
        })?;
    Ok(Verified {
        kind: ArtifactKind::Actor,
        id: claims.sub,
        name: claims.floe.name,
        version: claims.floe.version,
        targets: Vec::new(),
    })
}

/// Removes `digest`, which a tag just stopped naming, unless another tag
/// names it or something running was started from it.
async fn replace(
    ctx: &Lattice,
    store: &async_nats::jetstream::object_store::ObjectStore,
    digest: &str,
) -> anyhow::Result<()> {
    let kv = floe_lattice::open_bucket(ctx.client.nats(), ctx.client.lattice()).await?;
    let tagged = artifacts::list_tags(&kv, ctx.client.auth())
        .await?
        .iter()
        .any(|t| t.digest == digest);
    let running = running_references(ctx)
        .await?
        .iter()
        .any(|r| r.contains(digest));
    if !tagged && !running && artifacts::delete(store, digest).await? && ctx.global.output.is_text()
    {
        eprintln!("Removed sha256:{digest}, which the tag named before");
    }
    Ok(())
}

pub async fn push(ctx: &Lattice, args: &PushArgs) -> anyhow::Result<()> {
    let tag = args.name.as_deref().map(ArtifactRef::tag).transpose()?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}; check the path", args.file.display()))?;
    if bytes.len() as u64 > MAX_ARTIFACT {
        anyhow::bail!(
            "{} is larger than the {MAX_ARTIFACT} bytes a host accepts",
            args.file.display()
        );
    }
    let verified = verify(&args.file, &bytes)?;
    let nats = ctx.client.nats();
    let lattice = ctx.client.lattice();
    let waiting = output::Waiting::new(
        ctx.global.output,
        format!("Pushing {} ({} bytes)…", args.file.display(), bytes.len()),
    );
    let store = artifacts::open_store(nats, lattice).await?;
    let digest = artifacts::put(&store, &bytes).await?;
    drop(waiting);
    let size = bytes.len() as u64;
    let tag_reference = match tag {
        Some(ArtifactRef::Tag { name, tag }) => {
            let kv = floe_lattice::open_bucket(nats, lattice).await?;
            let before = artifacts::read_tag(&kv, ctx.client.auth(), &name, &tag).await?;
            let record = ArtifactTag {
                name,
                tag,
                digest: digest.clone(),
                kind: verified.kind,
                size,
            };
            artifacts::put_tag(&kv, ctx.client.auth(), &record).await?;
            if let Some(old) = before.filter(|old| args.replace && old.digest != record.digest)
                && let Err(e) = replace(ctx, &store, &old.digest).await
            {
                // The push itself succeeded: say so, and how to clean up.
                eprintln!(
                    "warning: the artifact sha256:{} the tag named before stays ({e:#}); `floe artifact prune` removes it later",
                    old.digest
                );
            }
            Some(
                ArtifactRef::Tag {
                    name: record.name,
                    tag: record.tag,
                }
                .to_string(),
            )
        }
        _ => None,
    };
    let pushed = Pushed {
        reference: ArtifactRef::Digest(digest.clone()).to_string(),
        digest,
        tag_reference,
        size,
        kind: verified.kind,
        id: verified.id,
        name: verified.name,
        version: verified.version,
        targets: verified.targets,
    };
    if !ctx.global.output.is_text() {
        return output::print_data(ctx.global.output, &pushed);
    }
    println!(
        "Pushed {} {} ({} bytes) as {}",
        pushed.name, pushed.version, pushed.size, pushed.reference
    );
    if let Some(tagged) = &pushed.tag_reference {
        println!("Tagged {tagged}");
    }
    if !pushed.targets.is_empty() {
        println!("Targets: {}", pushed.targets.join(", "));
    }
    let what = match pushed.kind {
        ArtifactKind::Actor => "actor",
        ArtifactKind::Provider => "provider",
    };
    println!(
        "Start it on any host: floe start {what} {}",
        pushed.tag_reference.as_ref().unwrap_or(&pushed.reference)
    );
    Ok(())
}

#[derive(Debug, Serialize)]
struct Listed {
    digest: String,
    reference: String,
    size: u64,
    /// When it was stored (Unix seconds).
    stored_unix: Option<i64>,
    /// `NAME:TAG`s pointing at it.
    tags: Vec<String>,
    /// What its tags say it is (`None` when untagged).
    kind: Option<ArtifactKind>,
}

/// Every artifact with its tags, newest first.
async fn listed(ctx: &Lattice) -> anyhow::Result<Vec<Listed>> {
    let nats = ctx.client.nats();
    let lattice = ctx.client.lattice();
    let store = artifacts::open_store(nats, lattice).await?;
    let kv = floe_lattice::open_bucket(nats, lattice).await?;
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut kinds: BTreeMap<String, ArtifactKind> = BTreeMap::new();
    for tag in artifacts::list_tags(&kv, ctx.client.auth()).await? {
        kinds.insert(tag.digest.clone(), tag.kind);
        tags.entry(tag.digest)
            .or_default()
            .push(format!("{}:{}", tag.name, tag.tag));
    }
    let mut listed: Vec<Listed> = artifacts::list(&store)
        .await?
        .into_iter()
        .map(|a| Listed {
            reference: ArtifactRef::Digest(a.digest.clone()).to_string(),
            tags: tags.remove(&a.digest).unwrap_or_default(),
            kind: kinds.get(&a.digest).copied(),
            digest: a.digest,
            size: a.size,
            stored_unix: a.stored_unix,
        })
        .collect();
    listed.sort_by_key(|a| std::cmp::Reverse(a.stored_unix));
    Ok(listed)
}

pub async fn list(ctx: &Lattice) -> anyhow::Result<()> {
    let listed = listed(ctx).await?;
    if !ctx.global.output.is_text() {
        return output::print_data(ctx.global.output, &listed);
    }
    if listed.is_empty() {
        println!("No artifacts in this lattice (store one with `floe push FILE --name NAME:TAG`).");
        return Ok(());
    }
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|a| {
            vec![
                format!("sha256:{}", &a.digest[..12]),
                match a.kind {
                    Some(ArtifactKind::Actor) => "actor",
                    Some(ArtifactKind::Provider) => "provider",
                    None => "-",
                }
                .to_owned(),
                a.size.to_string(),
                a.stored_unix
                    .map_or_else(|| "-".to_owned(), |t| age(now - t)),
                a.tags.join(","),
            ]
        })
        .collect();
    output::print_table(&["DIGEST", "KIND", "SIZE", "AGE", "TAGS"], &rows)
}

/// `42s`, `5m`, `3h`, `2d`.
fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Remove artifacts: `floe://sha256:…` (or a unique digest prefix), or
    /// `NAME:TAG` (the tag, and the artifact when no other tag names it).
    Delete {
        /// What to remove (repeatable).
        #[arg(required = true)]
        references: Vec<String>,
        /// Remove it even when a running actor or provider was started from
        /// it (a dormant replica whose compiled code is gone could not wake).
        #[arg(long)]
        force: bool,
    },
    /// Remove every untagged artifact no running actor or provider was
    /// started from, stored longer ago than --older-than.
    Prune {
        /// Keep what was stored more recently than this (e.g. 1h, 7d).
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
        older_than: std::time::Duration,
        /// Say what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn artifact(ctx: &Lattice, cmd: ArtifactCommand) -> anyhow::Result<()> {
    let nats = ctx.client.nats();
    let lattice = ctx.client.lattice();
    let store = artifacts::open_store(nats, lattice).await?;
    let kv = floe_lattice::open_bucket(nats, lattice).await?;
    let all = listed(ctx).await?;
    let mut removed = Vec::new();
    let dry_run = matches!(cmd, ArtifactCommand::Prune { dry_run: true, .. });
    match cmd {
        ArtifactCommand::Delete { references, force } => {
            let running = if force {
                Vec::new()
            } else {
                running_references(ctx).await?
            };
            for reference in references {
                let digest = match reference.strip_prefix("floe://").unwrap_or(&reference) {
                    text if text.contains(':') && !text.starts_with("sha256:") => {
                        let (name, tag) = text.split_once(':').unwrap_or((text, ""));
                        let record = artifacts::read_tag(&kv, ctx.client.auth(), name, tag)
                            .await?
                            .with_context(|| {
                                format!("no tag {name}:{tag} (see `floe get artifacts`)")
                            })?;
                        artifacts::delete_tag(&kv, name, tag).await?;
                        removed.push(format!("{name}:{tag}"));
                        let other_tags = all
                            .iter()
                            .find(|a| a.digest == record.digest)
                            .is_some_and(|a| a.tags.len() > 1);
                        if other_tags {
                            continue;
                        }
                        record.digest
                    }
                    text => {
                        let prefix = text.strip_prefix("sha256:").unwrap_or(text);
                        if prefix.len() < 8 {
                            bail!(
                                "`{reference}` is too short: give at least 8 hex digits of the digest"
                            );
                        }
                        let matching: Vec<&Listed> = all
                            .iter()
                            .filter(|a| a.digest.starts_with(prefix))
                            .collect();
                        match matching.as_slice() {
                            [one] => one.digest.clone(),
                            [] => bail!("no artifact {reference} (see `floe get artifacts`)"),
                            _ => bail!(
                                "{reference} matches {} artifacts: give more of the digest",
                                matching.len()
                            ),
                        }
                    }
                };
                if let Some(user) = running.iter().find(|r| r.contains(&digest)) {
                    bail!(
                        "sha256:{digest} runs as {user}: stop what runs from it first, or pass --force"
                    );
                }
                if artifacts::delete(&store, &digest).await? {
                    removed.push(format!("sha256:{digest}"));
                }
            }
        }
        ArtifactCommand::Prune {
            older_than,
            dry_run,
        } => {
            let running = running_references(ctx).await?;
            let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
            let limit = i64::try_from(older_than.as_secs()).unwrap_or(i64::MAX);
            for a in &all {
                // Unknown age: kept.
                let old_enough = a.stored_unix.is_some_and(|t| now - t >= limit);
                if a.tags.is_empty() && old_enough && !running.iter().any(|r| r.contains(&a.digest))
                {
                    if !dry_run {
                        artifacts::delete(&store, &a.digest).await?;
                    }
                    removed.push(format!("sha256:{}", a.digest));
                }
            }
        }
    }
    if !ctx.global.output.is_text() {
        return output::print_data(ctx.global.output, &removed);
    }
    if removed.is_empty() {
        println!("Nothing to remove.");
    }
    let verb = if dry_run { "Would remove" } else { "Removed" };
    for r in &removed {
        println!("{verb} {r}");
    }
    Ok(())
}

/// The references in use, each with who uses it: what every running actor
/// and provider was started from, and every image an app's current version
/// names (its replicas may be down now and started later). Refused unless
/// every host that answers a ping also sent its inventory (a host missing
/// from the answer could run what would be removed).
async fn running_references(ctx: &Lattice) -> anyhow::Result<Vec<String>> {
    let window = ctx.global.window;
    let hosts = ctx.client.ping_hosts(window).await?;
    let inventories = ctx.client.inventories_of(&hosts).await?;
    if inventories.len() < hosts.len() {
        bail!(
            "only {} of {} hosts sent their inventory within {window:?}, so what runs is not known: \
             nothing removed; try again, or with a longer --window",
            inventories.len(),
            hosts.len()
        );
    }
    let mut used: Vec<String> = inventories
        .iter()
        .flat_map(|i| {
            i.actors
                .iter()
                .map(|a| a.reference.clone())
                .chain(i.providers.iter().map(|p| p.reference.clone()))
        })
        .collect();
    let kv = floe_lattice::open_bucket(ctx.client.nats(), ctx.client.lattice()).await?;
    let auth = ctx.client.auth();
    for head in apps::heads(&kv, auth).await? {
        let name = &head.value.name;
        let (_, version) = apps::current(&kv, auth, name).await.with_context(|| {
            format!("cannot read app {name}, so what it names is not known: nothing removed")
        })?;
        used.extend(
            version
                .manifest
                .components
                .iter()
                .map(|c| format!("{} (app {name}, component {})", c.image, c.name)),
        );
    }
    Ok(used)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
