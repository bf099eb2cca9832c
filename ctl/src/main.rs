//! `floe`: the command line of the Floe actor mesh.
//!
//! `main` parses flags and hands over to one `commands::*` module per
//! subcommand; every failure ends here as one line on stderr that says what
//! went wrong and what to do next, and a non-zero exit.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
