//! `floe`: the command line of the Floe actor mesh.
//!
//! `main` parses flags and hands a local command or a lattice command to
//! its `commands::*` module; every failure ends here as one line on stderr that says what
//! went wrong and what to do next, and a non-zero exit status that says
//! what kind of failure it was (docs/cli.md, "Exit statuses").

mod args;
mod cli;
mod commands;
mod output;
mod project;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _};

fn main() -> ExitCode {
    let matches = cli::Cli::command().get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Flags typed or set in the environment win over the context.
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let explicit = commands::context::Explicit {
        nats_url: given("nats_url"),
        lattice: given("lattice"),
        creds: given("creds"),
        cluster_seed: given("cluster_seed"),
    };
    let ran = match cli.command {
        cli::Command::Local(command) => command.execute(cli.global, explicit, cli::Cli::command),
        cli::Command::Lattice(command) => command.execute(cli.global, explicit),
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let status = err
                .chain()
                .find_map(|e| e.downcast_ref::<floe_ctl::CtlError>())
                .map_or(1, floe_ctl::CtlError::exit_status);
            ExitCode::from(status)
        }
    }
}
