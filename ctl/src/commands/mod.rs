//! One module per subcommand, each with an `execute` over the libraries.

mod claims;
mod keys;

use anyhow::Context as _;
use floe_wire::FloeHome;

use crate::cli::{ClaimsCommand, Cli, Command, KeysCommand};

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    let output = cli.global.output;
    match cli.command {
        Command::Keys(KeysCommand::Gen(args)) => keys::generate(&args, &home()?, output),
        Command::Keys(KeysCommand::List) => keys::list(&home()?, output),
        Command::Claims(ClaimsCommand::Sign(args)) => claims::sign(&args, &home()?, output),
        Command::Claims(ClaimsCommand::Inspect(args)) => claims::inspect(&args, output),
    }
}

fn home() -> anyhow::Result<FloeHome> {
    FloeHome::from_env().context("cannot find Floe's home directory")
}
