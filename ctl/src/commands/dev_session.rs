//! What a `floe dev` session starts on the lattice and undoes when it
//! stops ([`Session`]): the pushed builds, the providers it started (from
//! the archives `make examples` packages), the links it stored.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use floe_lattice::artifacts;
use floe_wire::FloeHome;
use floe_wire::artifact::ArtifactRef;
use floe_wire::control::{CONTROL_VERSION, StartProviderRequest};
use floe_wire::link::Link;

use super::lattice::Lattice;
use super::up;

/// What `floe dev` started, undone when it stops.
#[derive(Debug, Default)]
pub(super) struct Session {
    pub lattice_started: bool,
    pub host: String,
    pub actor_id: String,
    pub actor_started: bool,
    pub providers: Vec<String>,
    pub links: Vec<(String, String, String)>,
    /// The digest of the component running now, pushed by this session.
    pub artifact: Option<String>,
}

/// Stores the signed component in the lattice; its digest and reference.
pub(super) async fn push(ctx: &Lattice, path: &Path) -> anyhow::Result<(String, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let store = artifacts::open_store(ctx.client.nats(), ctx.client.lattice()).await?;
    let digest = artifacts::put(&store, &bytes).await?;
    let reference = ArtifactRef::Digest(digest.clone()).to_string();
    Ok((digest, reference))
}

pub(super) async fn delete_artifact(ctx: &Lattice, digest: &str) {
    if let Ok(store) = artifacts::open_store(ctx.client.nats(), ctx.client.lattice()).await
        && let Err(e) = artifacts::delete(&store, digest).await
    {
        eprintln!("warning: cannot remove the previous build sha256:{digest}: {e}");
    }
}

/// The provider `name` on `host`: the one running there, else started from
/// its archive (recorded to stop at the end); its id.
pub(super) async fn ensure_provider(
    ctx: &Lattice,
    host: &str,
    name: &str,
    session: &mut Session,
) -> anyhow::Result<String> {
    let inventory = ctx.client.inventory(host).await?;
    if let Some(running) = inventory.providers.iter().find(|p| p.name == name) {
        return Ok(running.provider_id.clone());
    }
    let archive = provider_archive(name)?;
    eprintln!("Starting the {name} provider ({})…", archive.display());
    let started = ctx
        .client
        .start_provider(
            host,
            StartProviderRequest {
                v: CONTROL_VERSION,
                reference: archive.display().to_string(),
                provider_key: None,
                config: Default::default(),
                annotations: Default::default(),
                secrets: Default::default(),
            },
        )
        .await
        .with_context(|| format!("cannot start the {name} provider on host {host}"))?;
    if !started.already_running {
        session.providers.push(started.provider_id.clone());
    }
    Ok(started.provider_id)
}

/// Where the provider `name` is installed: `$FLOE_PROVIDERS_DIR/NAME.par.gz`,
/// else `providers/NAME.par.gz` beside the directory of `floe` (as `make
/// examples` leaves them: target/release/floe, target/providers).
pub(super) fn provider_archive(name: &str) -> anyhow::Result<PathBuf> {
    let file = format!("{name}.par.gz");
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("FLOE_PROVIDERS_DIR").filter(|d| !d.is_empty()) {
        candidates.push(PathBuf::from(dir).join(&file));
    }
    if let Some(bin) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        candidates.push(bin.join("../providers").join(&file));
        candidates.push(bin.join("providers").join(&file));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .ok_or_else(|| {
            anyhow!(
                "the {name} provider is not installed: `make examples` packages it into target/providers/{file}, \
                 or set FLOE_PROVIDERS_DIR to the directory holding {file}"
            )
        })
}

pub(super) async fn put_link(
    ctx: &Lattice,
    session: &mut Session,
    link: Link,
) -> anyhow::Result<()> {
    ctx.client
        .put_link(&link)
        .await
        .context("cannot store the link")?;
    session
        .links
        .push((link.source, link.package, link.link_name));
    Ok(())
}

pub(super) fn free_address() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.to_string())
}

/// Waits until the provider listens on `address` (it opens the listener
/// when it sees the link).
pub(super) async fn wait_listening(address: &str) -> anyhow::Result<()> {
    let since = Instant::now();
    while tokio::net::TcpStream::connect(address).await.is_err() {
        if since.elapsed() > Duration::from_secs(15) {
            return Err(anyhow!(
                "nothing listens on {address} 15 s after the link was stored: see the host's log \
                 (`floe logs`, or $FLOE_HOME/up/host.log) for `link refused`"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

impl Session {
    /// Stops what this session started, most recent first; failures are
    /// said, not fatal (the rest is still undone).
    pub async fn undo(&mut self, ctx: &Lattice, home: &FloeHome) {
        let client = &ctx.client;
        for (source, package, link_name) in self.links.drain(..).rev() {
            if let Err(e) = client.delete_link(&source, &package, &link_name).await {
                eprintln!("warning: cannot delete the link {package} {link_name}: {e}");
            }
        }
        if self.actor_started {
            if let Err(e) = client.stop_actor(&self.host, &self.actor_id).await {
                eprintln!("warning: cannot stop actor {}: {e}", self.actor_id);
            } else if let Some(digest) = self.artifact.take() {
                delete_artifact(ctx, &digest).await;
            }
        } else if self.actor_id.is_empty()
            && let Some(digest) = self.artifact.take()
        {
            // Pushed, never started: nothing runs it.
            delete_artifact(ctx, &digest).await;
        }
        for provider in self.providers.drain(..) {
            if let Err(e) = client.stop_provider(&self.host, &provider).await {
                eprintln!("warning: cannot stop provider {provider}: {e}");
            }
        }
        if self.lattice_started
            && let Err(e) = up::down(&ctx.global, home).await
        {
            eprintln!("warning: cannot stop the lattice `floe dev` started: {e:#}");
        }
        eprintln!("Stopped.");
    }
}
