//! Flags and argument parsers more than one command shares.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use floe_wire::LatticeId;

use crate::output::OutputFormat;

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Output format: human text, or JSON or YAML for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// NATS server of the lattice.
    #[arg(
        long,
        global = true,
        env = "FLOE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// Lattice id.
    #[arg(long, global = true, env = "FLOE_LATTICE", default_value = "default")]
    pub lattice: LatticeId,
    /// NATS credentials file.
    #[arg(long, global = true, env = "FLOE_CREDS")]
    pub creds: Option<PathBuf>,
    /// The lattice's cluster seed (`SC…`, or the name of a saved key).
    /// Default: $FLOE_CLUSTER_SEED, else $FLOE_HOME/keys/cluster.nk.
    #[arg(long, global = true, value_name = "NAME|SEED")]
    pub cluster_seed: Option<String>,
    /// Deadline of each request or call (e.g. 5s, 500ms).
    #[arg(long, global = true, default_value = "10s", value_parser = floe_wire::duration::parse_flag_duration)]
    pub timeout: Duration,
    /// The context to use instead of the current one (`floe context list`).
    #[arg(long, global = true, env = "FLOE_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
    /// How long to collect answers from every host (ping, auction, name lookup).
    #[arg(long, global = true, default_value = "1s", value_parser = floe_wire::duration::parse_flag_duration)]
    pub window: Duration,
}

/// When signed claims are valid, and their tags (`floe claims sign`,
/// `floe provider package`).
#[derive(Debug, Args)]
pub struct ValidityArgs {
    /// Expire after this long (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
    /// Not valid before this time: RFC 3339 (2026-12-01T00:00:00Z) or a delay (e.g. 1h).
    #[arg(long, value_name = "TIME|DURATION")]
    pub not_before: Option<String>,
    /// A free-form tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
}

/// An argument that does not parse, and why (clap prints it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadArg(pub String);

/// A `key=value` argument.
pub fn parse_key_value(text: &str) -> Result<(String, String), BadArg> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| BadArg(format!("`{text}` is not key=value")))?;
    if k.trim().is_empty() {
        return Err(BadArg(format!("`{text}` has an empty key")));
    }
    Ok((k.trim().to_owned(), v.trim().to_owned()))
}
