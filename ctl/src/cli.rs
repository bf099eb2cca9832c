//! The command-line grammar of `floe` (clap derive): the global flags and
//! the two kinds of command. Each command's own arguments live with it in
//! `commands`.

use clap::{Parser, Subcommand};

use crate::args::GlobalArgs;
use crate::commands::{LatticeCommand, LocalCommand};

/// Floe: a distributed mesh of signed WebAssembly actors over NATS.
#[derive(Debug, Parser)]
#[command(name = "floe", version, about, propagate_version = false)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Local(LocalCommand),
    #[command(flatten)]
    Lattice(LatticeCommand),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
