//! `floe dev`: the inner loop of writing an actor. In a project it builds
//! and signs it, uses the local lattice (starting one as `floe up` does
//! when no host answers), pushes the component and starts it; an `http`
//! project also gets the http-server provider and a link on a free port
//! (its URL printed), a `kv` project the keyvalue provider. Then it watches
//! the sources: each change is rebuilt, signed, pushed and swapped in place
//! (`update`: calls in flight finish on the old code, none fails); a build
//! error is shown and the running version keeps serving. Ctrl-C (or
//! SIGTERM) undoes what it started. Idle, it waits on inotify and signals
//! and uses no CPU.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use clap::Args;
use floe_wire::FloeHome;
use floe_wire::control::{CONTROL_VERSION, StartActorRequest};
use floe_wire::link::{LINK_VERSION, Link};
use notify::Watcher as _;
use tokio::signal::unix::{SignalKind, signal};

use super::build::{self, build_and_sign};
use super::dev_session::{
    Session, delete_artifact, ensure_provider, free_address, push, put_link, wait_listening,
};
use super::lattice::Lattice;
use super::up;
use crate::args::GlobalArgs;
use crate::project::signing::{DEVELOPER_ISSUER, Signed};
use crate::project::{Project, Template, toolchain};

#[derive(Debug, Args)]
pub struct DevArgs {
    /// The issuer key to sign with (a name saved under $FLOE_HOME/keys, made on first use).
    #[arg(long, value_name = "NAME", default_value = DEVELOPER_ISSUER)]
    pub issuer: String,
    /// The project directory (default: the one you are in, or above).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Where an `http` project is served (default: a free port on 127.0.0.1).
    #[arg(long, value_name = "HOST:PORT")]
    pub address: Option<String>,
    /// How long after a change to wait for more before rebuilding (a burst
    /// of saves builds once).
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub debounce: Duration,
}

pub async fn dev(global: &GlobalArgs, args: &DevArgs, home: &FloeHome) -> anyhow::Result<()> {
    let project = build::project(args.dir.as_deref())?;
    // A project that does not build starts nothing.
    let signed = build_in_background(&project, home, &args.issuer).await?;
    build::print_signed(&signed);
    let lattice_started = ensure_lattice(global, home).await?;
    let ctx = match Lattice::connect(global.clone()).await {
        Ok(ctx) => ctx,
        Err(e) => {
            if lattice_started {
                let _ = up::down(global, home).await;
            }
            return Err(e);
        }
    };
    let mut session = Session {
        lattice_started,
        ..Session::default()
    };
    let outcome = serve(&ctx, args, home, &project, signed, &mut session).await;
    eprintln!("Stopping what `floe dev` started…");
    session.undo(&ctx, home).await;
    outcome
}

/// True when it had to start a lattice (no host answered).
async fn ensure_lattice(global: &GlobalArgs, home: &FloeHome) -> anyhow::Result<bool> {
    if let Ok(ctx) = Lattice::connect(global.clone()).await
        && ctx
            .client
            .ping_hosts(global.window)
            .await
            .is_ok_and(|hosts| !hosts.is_empty())
    {
        return Ok(false);
    }
    eprintln!(
        "No host answers on lattice {}: starting one as `floe up` does…",
        global.lattice
    );
    let args = up::UpArgs {
        port: None,
        detach: true,
    };
    up::up(global, &args, home).await?;
    Ok(true)
}

async fn serve(
    ctx: &Lattice,
    args: &DevArgs,
    home: &FloeHome,
    project: &Project,
    signed: Signed,
    session: &mut Session,
) -> anyhow::Result<()> {
    // Watched from here on; a signal during the first start is kept and
    // seen by the loop below, so that start finishes and is undone whole.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
    // Watching begins before the first start: a change saved meanwhile is
    // built once it is up.
    let (changed, mut changes) = tokio::sync::mpsc::channel::<()>(1);
    let watched = toolchain::sources(project);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only changes to the sources: not reads, not the build's own output
        // (a directory watched for a file holds others).
        let relevant = event.is_ok_and(|e| {
            !matches!(e.kind, notify::EventKind::Access(_))
                && e.paths
                    .iter()
                    .any(|p| watched.iter().any(|s| p.starts_with(s)))
        });
        if relevant {
            // Full means a rebuild is already due: this change is in it.
            let _ = changed.try_send(());
        }
    })
    .context("cannot watch the sources (inotify)")?;
    let sources = toolchain::sources(project);
    if sources.is_empty() {
        return Err(anyhow!(
            "none of the project's sources exist to watch: set [build] watch in floe.toml"
        ));
    }
    for path in &sources {
        // A file is watched through its directory: an editor that saves by
        // renaming a new file over it would end a watch on the file itself.
        let (target, mode) = match path.parent().filter(|_| path.is_file()) {
            Some(dir) => (dir, notify::RecursiveMode::NonRecursive),
            None => (path.as_path(), notify::RecursiveMode::Recursive),
        };
        watcher
            .watch(target, mode)
            .with_context(|| format!("cannot watch {}", target.display()))?;
    }
    eprintln!(
        "Watching {} for changes; Ctrl-C stops.",
        sources
            .iter()
            .map(|p| p
                .strip_prefix(&project.root)
                .unwrap_or(p)
                .display()
                .to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    start(ctx, args, project, &signed, session).await?;
    let mut revision = signed.revision;
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            Some(()) = changes.recv() => {
                // A burst of saves builds once.
                tokio::time::sleep(args.debounce).await;
                while changes.try_recv().is_ok() {}
                match swap(ctx, home, args, project, session).await {
                    Ok(report) => {
                        revision = report.revision;
                        eprintln!("{report}");
                    }
                    Err(e) => eprintln!(
                        "error: {e:#}\nStill serving revision {revision}; fix it and save again."
                    ),
                }
            }
        }
    }
}

/// Pushes the first build, starts it, and wires what its template needs.
async fn start(
    ctx: &Lattice,
    args: &DevArgs,
    project: &Project,
    signed: &Signed,
    session: &mut Session,
) -> anyhow::Result<()> {
    let host = super::actors::placement(ctx, None, &[], false).await?;
    session.host = host.clone();
    let (digest, reference) = push(ctx, &signed.path).await?;
    session.artifact = Some(digest);
    let started = ctx
        .client
        .start_actor(
            &host,
            StartActorRequest {
                v: CONTROL_VERSION,
                reference: reference.clone(),
                max_concurrent: None,
                annotations: [(
                    "floe.dev/project".to_owned(),
                    project.root.display().to_string(),
                )]
                .into(),
                config: Default::default(),
                secrets: Default::default(),
                idle_after_ms: None,
                dormant: false,
            },
        )
        .await
        .with_context(|| format!("cannot start {} on host {host}", project.name()))?;
    session.actor_id = started.actor_id.clone();
    if started.already_running {
        // Left by an earlier session or `floe start`: this build replaces it.
        ctx.client
            .update_actor(&host, &started.actor_id, &reference)
            .await
            .context("cannot swap in this build")?;
    } else {
        session.actor_started = true;
    }
    eprintln!(
        "Running {} ({}) on host {host}",
        project.name(),
        started.actor_id
    );
    match project.manifest.actor.template {
        Template::Hello => println!("Try: floe call {} hello '[\"world\"]'", project.name()),
        Template::Kv => {
            let provider = ensure_provider(ctx, &host, "keyvalue-nats", session).await?;
            put_link(
                ctx,
                session,
                Link {
                    v: LINK_VERSION,
                    source: started.actor_id.clone(),
                    target: provider,
                    package: "wasi:keyvalue".to_owned(),
                    interfaces: vec!["store".to_owned(), "atomics".to_owned()],
                    link_name: "default".to_owned(),
                    source_config: Default::default(),
                    target_config: [("buckets".to_owned(), "counters".to_owned())].into(),
                    annotations: Default::default(),
                },
            )
            .await?;
            println!("Try: floe call {} increment '[\"visits\"]'", project.name());
        }
        Template::Http => {
            let provider = ensure_provider(ctx, &host, "http-server", session).await?;
            let address = match &args.address {
                Some(a) => a.clone(),
                None => free_address()?,
            };
            put_link(
                ctx,
                session,
                Link {
                    v: LINK_VERSION,
                    source: provider,
                    target: started.actor_id.clone(),
                    package: "wasi:http".to_owned(),
                    interfaces: vec!["incoming-handler".to_owned()],
                    link_name: project.name().to_owned(),
                    source_config: [("address".to_owned(), address.clone())].into(),
                    target_config: Default::default(),
                    annotations: Default::default(),
                },
            )
            .await?;
            wait_listening(&address).await?;
            println!("Serving http://{address}/");
        }
    }
    Ok(())
}

/// What one swap took, for the developer.
struct SwapReport {
    revision: u32,
    build: Duration,
    sign: Duration,
    push: Duration,
    swap: Duration,
}

impl std::fmt::Display for SwapReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "Swapped in revision {}: build {:.0} ms, sign {:.0} ms, push {:.0} ms, swap {:.0} ms",
            self.revision,
            ms(self.build),
            ms(self.sign),
            ms(self.push),
            ms(self.swap)
        )
    }
}

/// Rebuilds, signs, pushes and swaps the running actor in place; the old
/// artifact is removed once the new one serves.
async fn swap(
    ctx: &Lattice,
    home: &FloeHome,
    args: &DevArgs,
    project: &Project,
    session: &mut Session,
) -> anyhow::Result<SwapReport> {
    let built = {
        let project = project.clone();
        tokio::task::spawn_blocking(move || toolchain::build(&project))
            .await
            .map_err(|e| anyhow!("the build task failed: {e}"))??
    };
    let signing = Instant::now();
    let signed = {
        let (project, home, issuer) = (project.clone(), home.clone(), args.issuer.clone());
        let component = built.component.clone();
        tokio::task::spawn_blocking(move || {
            crate::project::signing::sign(&project, &home, &issuer, &component)
        })
        .await
        .map_err(|e| anyhow!("the signing task failed: {e}"))??
    };
    let sign = signing.elapsed();
    let pushing = Instant::now();
    let (digest, reference) = push(ctx, &signed.path).await?;
    let push_time = pushing.elapsed();
    let swapping = Instant::now();
    if let Err(e) = ctx
        .client
        .update_actor(&session.host, &session.actor_id, &reference)
        .await
    {
        if session.artifact.as_deref() != Some(digest.as_str()) {
            delete_artifact(ctx, &digest).await;
        }
        return Err(anyhow::Error::new(e).context(
            "cannot swap in the new build (if the host or actor is gone, stop and run `floe dev` again)",
        ));
    }
    let swap_time = swapping.elapsed();
    let previous = session.artifact.replace(digest.clone());
    if let Some(old) = previous.filter(|old| *old != digest) {
        delete_artifact(ctx, &old).await;
    }
    Ok(SwapReport {
        revision: signed.revision,
        build: built.elapsed,
        sign,
        push: push_time,
        swap: swap_time,
    })
}

async fn build_in_background(
    project: &Project,
    home: &FloeHome,
    issuer: &str,
) -> anyhow::Result<Signed> {
    let (project, home, issuer) = (project.clone(), home.clone(), issuer.to_owned());
    tokio::task::spawn_blocking(move || build_and_sign(&project, &home, &issuer))
        .await
        .map_err(|e| anyhow!("the build task failed: {e}"))?
}
