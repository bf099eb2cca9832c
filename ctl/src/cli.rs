//! The command-line grammar of `floe` (clap derive). Behaviour lives in
//! `commands`; this module only says what can be typed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::OutputFormat;

/// Floe: a distributed mesh of signed WebAssembly actors over NATS.
#[derive(Debug, Parser)]
#[command(name = "floe", version, about, propagate_version = false)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: human text or JSON for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate and list identity keys (nkeys).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign components and inspect their claims.
    #[command(subcommand)]
    Claims(ClaimsCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new key pair and print its public key and seed.
    Gen(KeysGenArgs),
    /// List the keys saved under $FLOE_HOME/keys (public keys only).
    List,
}

#[derive(Debug, Args)]
pub struct KeysGenArgs {
    /// What the key identifies.
    #[arg(long = "type", short = 't', value_parser = ["account", "actor", "provider", "host", "cluster"])]
    pub kind: String,
    /// Save the seed as $FLOE_HOME/keys/NAME.nk (mode 0600).
    #[arg(long, value_name = "NAME")]
    pub save: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Embed signed claims in a component.
    Sign(Box<ClaimsSignArgs>),
    /// Show a component's claims and whether its signature and hash hold.
    Inspect(ClaimsInspectArgs),
}

#[derive(Debug, Args)]
pub struct ClaimsSignArgs {
    /// The component to sign (a wasm32-wasip2 component).
    pub component: PathBuf,
    /// The issuer's account key: a name saved with `floe keys gen --save` or a seed.
    #[arg(long, value_name = "NAME|SEED")]
    pub issuer: String,
    /// The actor's human name.
    #[arg(long)]
    pub name: String,
    /// The release version (free-form, usually semver).
    #[arg(long = "version", value_name = "VERSION")]
    pub release: String,
    /// Monotonic revision number.
    #[arg(long, default_value_t = 0)]
    pub revision: u32,
    /// A capability the actor may import: `ns:pkg/iface` or a whole package `ns:pkg`.
    #[arg(long = "cap", value_name = "CAPABILITY")]
    pub caps: Vec<String>,
    /// The actor id: a saved actor key name, an actor seed or an `M…` public key.
    /// Default: the id the component already has, else the actor key saved as
    /// `NAME-actor` (created on first use).
    #[arg(long, value_name = "NAME|SEED|KEY")]
    pub subject: Option<String>,
    /// Expire after this long (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
    /// Not valid before this time: RFC 3339 (2026-12-01T00:00:00Z) or a delay (e.g. 1h).
    #[arg(long, value_name = "TIME|DURATION")]
    pub not_before: Option<String>,
    /// A free-form tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Where to write the signed component (default: NAME_s.wasm beside the input).
    #[arg(long, value_name = "OUT.wasm")]
    pub destination: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClaimsInspectArgs {
    /// The signed component.
    pub component: PathBuf,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
