//! `floe-host`: parse flags, set up logging, run until SIGINT/SIGTERM or a
//! control-plane stop.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser;
use floe_host::HostConfig;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// The Floe host: joins a lattice and runs signed WebAssembly actors.
#[derive(Debug, Parser)]
#[command(name = "floe-host", version, about)]
struct Cli {
    #[command(flatten)]
    config: HostConfig,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    match floe_host::run(cli.config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn spawn_signal_handler(shutdown: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot install signal handlers");
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        shutdown.cancel();
    });
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
