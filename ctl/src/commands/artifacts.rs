//! `floe push FILE [--name NAME:TAG]` and `floe get artifacts`: signed actor
//! components and provider archives stored in the lattice's object store by
//! digest, so every host can start them from `floe://sha256:…` or
//! `floe://NAME:TAG`.

use std::path::PathBuf;

use std::collections::BTreeMap;

use anyhow::Context as _;
use floe_lattice::artifacts;
use floe_wire::artifact::{ArtifactKind, ArtifactRef, ArtifactTag};
use serde::Serialize;

use clap::Args;

use super::lattice::Lattice;
use crate::output;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// A signed actor component (`floe claims sign`) or provider archive (`floe provider package`).
    pub file: PathBuf,
    /// Also name it NAME:TAG (start it with `floe start actor|provider floe://NAME:TAG`).
    #[arg(long, value_name = "NAME:TAG")]
    pub name: Option<String>,
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
            let record = ArtifactTag {
                name,
                tag,
                digest: digest.clone(),
                kind: verified.kind,
                size,
            };
            artifacts::put_tag(&kv, ctx.client.auth(), &record).await?;
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
    /// `NAME:TAG`s pointing at it.
    tags: Vec<String>,
    /// What its tags say it is (`None` when untagged).
    kind: Option<ArtifactKind>,
}

pub async fn list(ctx: &Lattice) -> anyhow::Result<()> {
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
    let listed: Vec<Listed> = artifacts::list(&store)
        .await?
        .into_iter()
        .map(|(digest, size)| Listed {
            reference: ArtifactRef::Digest(digest.clone()).to_string(),
            tags: tags.remove(&digest).unwrap_or_default(),
            kind: kinds.get(&digest).copied(),
            digest,
            size,
        })
        .collect();
    if !ctx.global.output.is_text() {
        return output::print_data(ctx.global.output, &listed);
    }
    if listed.is_empty() {
        println!("No artifacts in this lattice (store one with `floe push FILE --name NAME:TAG`).");
        return Ok(());
    }
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
                a.tags.join(","),
            ]
        })
        .collect();
    output::print_table(&["DIGEST", "KIND", "SIZE", "TAGS"], &rows)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
