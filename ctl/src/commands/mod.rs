//! The commands: each `x.rs` owns its clap arguments and what it does over
//! the client library. Commands that need no lattice ([`LocalCommand`]) and
//! those that run on one ([`LatticeCommand`]) are separate types, so each
//! is dispatched where it can run and no arm is impossible.

mod actors;
mod apps;
mod artifacts;
mod build;
mod call;
mod claims;
mod config;
pub mod context;
mod dev;
mod dev_session;
mod hosts;
mod ingress;
mod keys;
mod lattice;
mod links;
mod logs;
mod new;
mod provider;
mod secrets;
mod up;
mod up_state;
mod watch;

use anyhow::Context as _;
use clap::Subcommand;
use floe_wire::FloeHome;

use crate::args::GlobalArgs;
use crate::output;
use lattice::{Lattice, block_on};

/// Commands that do not connect to a lattice (they may start one).
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Create a project from a template: `floe new actor NAME --lang rust|python|js --template hello|http|kv`.
    #[command(subcommand)]
    New(new::NewCommand),
    /// Build the project you are in with its language's tool and sign it as its actor.
    Build(build::BuildArgs),
    /// Run the project on the local lattice and swap in every saved change.
    Dev(dev::DevArgs),
    /// Generate and list identity keys (nkeys).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Sign components and inspect their claims.
    #[command(subcommand)]
    Claims(claims::ClaimsCommand),
    /// Package signed provider archives and inspect them.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Start a lattice on this machine: NATS (unless one answers) and a host.
    Up(up::UpArgs),
    /// Stop what `floe up --detach` started.
    Down,
    /// Named connection settings (NATS URL, lattice, credentials, seed), like kubectl contexts.
    #[command(subcommand)]
    Context(context::ContextCommand),
    /// Print a shell completion script: `floe completions bash > /etc/bash_completion.d/floe`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Commands that run on a connected lattice.
#[derive(Debug, Subcommand)]
pub enum LatticeCommand {
    /// Declarative applications: apply a manifest, and the lattice keeps it true.
    #[command(subcommand)]
    App(apps::AppCommand),
    /// Show what runs on the lattice.
    #[command(subcommand)]
    Get(hosts::GetCommand),
    /// Start an actor or a provider on a host.
    #[command(subcommand)]
    Start(actors::StartCommand),
    /// Stop an actor, a provider, or a host.
    #[command(subcommand)]
    Stop(actors::StopCommand),
    /// Change how many instances of an actor may run at once.
    #[command(subcommand)]
    Scale(actors::ScaleCommand),
    /// Replace a running actor with a new version of the same actor id.
    #[command(subcommand)]
    Update(actors::UpdateCommand),
    /// Call an exported function of an actor.
    Call(call::CallArgs),
    /// Show what an actor logged recently, on every host (and, with --follow, what it logs next).
    Logs(logs::LogsArgs),
    /// Set or remove a host's labels.
    #[command(subcommand)]
    Label(hosts::LabelCommand),
    /// Wire an actor's imports to the entity that answers them.
    #[command(subcommand)]
    Link(links::LinkCommand),
    /// Store a signed actor component or provider archive in the lattice, for every host to start.
    Push(artifacts::PushArgs),
    /// Remove artifacts from the lattice: by reference, or every unused untagged one.
    #[command(subcommand)]
    Artifact(artifacts::ArtifactCommand),
    /// Stream the lattice's events as they happen.
    Watch(watch::WatchArgs),
    /// Secrets sealed at rest, read by actors as config: put, list, delete, rotate-key.
    #[command(subcommand)]
    Secret(secrets::SecretCommand),
    /// An actor's config stored in the lattice, read by running replicas from their next call.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Routes from host names and paths to actors, served by hosts started with --ingress.
    #[command(subcommand)]
    Ingress(ingress::IngressCommand),
}

impl LocalCommand {
    /// Runs the command; `grammar` is the whole command line's (for
    /// completions).
    pub fn execute(
        self,
        mut global: GlobalArgs,
        explicit: context::Explicit,
        grammar: impl FnOnce() -> clap::Command,
    ) -> anyhow::Result<()> {
        let output = global.output;
        match self {
            LocalCommand::Context(cmd) => context::run(cmd, &global, explicit, &home()?),
            LocalCommand::New(cmd) => cmd.execute(output),
            LocalCommand::Build(args) => build::run(&args, &home()?, output),
            LocalCommand::Dev(args) => {
                let home = home()?;
                context::apply(&mut global, explicit, &home)?;
                block_on(async { dev::dev(&global, &args, &home).await })
            }
            LocalCommand::Keys(cmd) => cmd.execute(&home()?, output),
            // Inspecting needs no home directory; signing and packaging do.
            LocalCommand::Claims(cmd) => cmd.execute(home, output),
            LocalCommand::Provider(cmd) => cmd.execute(home, output),
            LocalCommand::Completions { shell } => {
                let mut command = grammar();
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut command, "floe", &mut script);
                output::write_stdout(&script)
            }
            LocalCommand::Up(args) => {
                let home = home()?;
                context::apply(&mut global, explicit, &home)?;
                block_on(async { up::up(&global, &args, &home).await })
            }
            LocalCommand::Down => block_on(async { up::down(&global, &home()?).await }),
        }
    }
}

impl LatticeCommand {
    /// Applies the context in force, connects, and runs the command.
    pub fn execute(
        self,
        mut global: GlobalArgs,
        explicit: context::Explicit,
    ) -> anyhow::Result<()> {
        context::apply(&mut global, explicit, &home()?)?;
        block_on(async {
            let ctx = Lattice::connect(global).await?;
            match self {
                LatticeCommand::Label(cmd) => hosts::label(&ctx, cmd).await,
                LatticeCommand::Link(cmd) => links::link(&ctx, cmd).await,
                LatticeCommand::Get(cmd) => hosts::get(&ctx, cmd).await,
                LatticeCommand::Start(cmd) => actors::start(&ctx, cmd).await,
                LatticeCommand::Stop(cmd) => actors::stop(&ctx, cmd).await,
                LatticeCommand::Scale(cmd) => actors::scale(&ctx, cmd).await,
                LatticeCommand::Update(cmd) => actors::update(&ctx, cmd).await,
                LatticeCommand::Call(args) => call::call(&ctx, &args).await,
                LatticeCommand::Logs(args) => logs::logs(&ctx, &args).await,
                LatticeCommand::Watch(args) => watch::watch(&ctx, &args).await,
                LatticeCommand::App(cmd) => apps::app(&ctx, cmd).await,
                LatticeCommand::Push(args) => artifacts::push(&ctx, &args).await,
                LatticeCommand::Artifact(cmd) => artifacts::artifact(&ctx, cmd).await,
                LatticeCommand::Secret(cmd) => secrets::secret(&ctx, cmd).await,
                LatticeCommand::Config(cmd) => config::config(&ctx, cmd).await,
                LatticeCommand::Ingress(cmd) => ingress::ingress(&ctx, cmd).await,
            }
        })
    }
}

fn home() -> anyhow::Result<FloeHome> {
    FloeHome::from_env().context("cannot find Floe's home directory")
}
