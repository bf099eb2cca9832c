//! One module per subcommand group, each with functions over the libraries.

mod actors;
mod apps;
mod artifacts;
mod call;
mod claims;
pub mod context;
mod hosts;
mod keys;
mod links;
mod logs;
mod provider;
mod up;
mod watch;

use anyhow::Context as _;
use floe_ctl::{ClientOptions, CtlClient};
use floe_wire::FloeHome;

use crate::cli::{ClaimsCommand, Cli, Command, GlobalArgs, KeysCommand, ProviderCommand};
use crate::output;

/// Runs the parsed command line.
pub fn execute(cli: Cli, explicit: context::Explicit) -> anyhow::Result<()> {
    let output = cli.global.output;
    match cli.command {
        Command::Context(cmd) => context::run(cmd, &cli.global, explicit, &home()?),
        Command::Keys(KeysCommand::Gen(args)) => keys::generate(&args, &home()?, output),
        Command::Keys(KeysCommand::List) => keys::list(&home()?, output),
        Command::Claims(ClaimsCommand::Sign(args)) => claims::sign(&args, &home()?, output),
        Command::Claims(ClaimsCommand::Inspect(args)) => claims::inspect(&args, output),
        Command::Provider(ProviderCommand::Package(args)) => {
            provider::package(&args, &home()?, output)
        }
        Command::Provider(ProviderCommand::Inspect(args)) => provider::inspect(&args, output),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "floe", &mut script);
            output::write_stdout(&script)
        }
        Command::Up(args) => {
            let mut global = cli.global;
            let home = home()?;
            context::apply(&mut global, explicit, &home)?;
            block_on(async { up::up(&global, &args, &home).await })
        }
        Command::Down => block_on(async { up::down(&cli.global, &home()?).await }),
        lattice_command => {
            let mut global = cli.global;
            context::apply(&mut global, explicit, &home()?)?;
            block_on(run_lattice(lattice_command, global))
        }
    }
}

async fn run_lattice(command: Command, global: GlobalArgs) -> anyhow::Result<()> {
    let client = connect(&global).await?;
    let ctx = Lattice { client, global };
    match command {
        Command::Label(cmd) => hosts::label(&ctx, cmd).await,
        Command::Link(cmd) => links::link(&ctx, cmd).await,
        Command::Get(cmd) => hosts::get(&ctx, cmd).await,
        Command::Start(cmd) => actors::start(&ctx, cmd).await,
        Command::Stop(cmd) => actors::stop(&ctx, cmd).await,
        Command::Scale(cmd) => actors::scale(&ctx, cmd).await,
        Command::Update(cmd) => actors::update(&ctx, cmd).await,
        Command::Call(args) => call::call(&ctx, &args).await,
        Command::Logs(args) => logs::logs(&ctx, &args).await,
        Command::Watch(args) => watch::watch(&ctx, &args).await,
        Command::App(cmd) => apps::app(&ctx, cmd).await,
        Command::Push(args) => artifacts::push(&ctx, &args).await,
        Command::Keys(_)
        | Command::Claims(_)
        | Command::Provider(_)
        | Command::Completions { .. }
        | Command::Context(_)
        | Command::Up(_)
        | Command::Down => {
            anyhow::bail!("this command does not run on a connected lattice")
        }
    }
}

/// A connected client and the global flags, for lattice commands.
pub struct Lattice {
    pub client: CtlClient,
    pub global: GlobalArgs,
}

async fn connect(global: &GlobalArgs) -> anyhow::Result<CtlClient> {
    Ok(CtlClient::connect(&ClientOptions {
        nats_url: global.nats_url.clone(),
        lattice: global.lattice.clone(),
        creds: global.creds.clone(),
        cluster_seed: global.cluster_seed.clone(),
        timeout: global.timeout,
    })
    .await?)
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(future: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

fn home() -> anyhow::Result<FloeHome> {
    FloeHome::from_env().context("cannot find Floe's home directory")
}
