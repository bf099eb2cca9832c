//! `floe push FILE [--name NAME:TAG]` and `floe get artifacts`: signed actor
//! components stored in the lattice's object store by digest, so every host
//! can start them from `floe://sha256:…` or `floe://NAME:TAG`.

use std::collections::BTreeMap;

use anyhow::Context as _;
use floe_lattice::artifacts;
use floe_wire::artifact::{ArtifactKind, ArtifactRef, ArtifactTag};
use serde::Serialize;

use super::Lattice;
use crate::cli::PushArgs;
use crate::output;

/// The largest artifact pushed (a host accepts up to this too).
const MAX_ARTIFACT: u64 = 256 << 20;

#[derive(Debug, Serialize)]
struct Pushed {
    digest: String,
    reference: String,
    tag_reference: Option<String>,
    size: u64,
    actor: String,
    name: String,
    version: String,
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
    // Only what a host would run goes into the lattice.
    let claims = floe_wire::claims::verify(&bytes, unix_now(), &Default::default())
        .with_context(|| {
            format!(
                "{} refused: only signed, untampered components are pushed (sign it with `floe claims sign`)",
                args.file.display()
            )
        })?;
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
                kind: ArtifactKind::Actor,
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
        actor: claims.sub,
        name: claims.floe.name,
        version: claims.floe.version,
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
    println!(
        "Start it on any host: floe start actor {}",
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
}

pub async fn list(ctx: &Lattice) -> anyhow::Result<()> {
    let nats = ctx.client.nats();
    let lattice = ctx.client.lattice();
    let store = artifacts::open_store(nats, lattice).await?;
    let kv = floe_lattice::open_bucket(nats, lattice).await?;
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for tag in artifacts::list_tags(&kv, ctx.client.auth()).await? {
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
                a.size.to_string(),
                a.tags.join(","),
            ]
        })
        .collect();
    output::print_table(&["DIGEST", "SIZE", "TAGS"], &rows)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
