//! The command-line grammar of `floe` (clap derive). Behaviour lives in
//! `commands`; this module only says what can be typed.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use floe_wire::LatticeId;

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate and list identity keys (nkeys).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign components and inspect their claims.
    #[command(subcommand)]
    Claims(ClaimsCommand),
    /// Package signed provider archives and inspect them.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Declarative applications: apply a manifest, and the lattice keeps it true.
    #[command(subcommand)]
    App(AppCommand),
    /// Show what runs on the lattice.
    #[command(subcommand)]
    Get(GetCommand),
    /// Start an actor or a provider on a host.
    #[command(subcommand)]
    Start(StartCommand),
    /// Stop an actor, a provider, or a host.
    #[command(subcommand)]
    Stop(StopCommand),
    /// Change how many instances of an actor may run at once.
    #[command(subcommand)]
    Scale(ScaleCommand),
    /// Replace a running actor with a new version of the same actor id.
    #[command(subcommand)]
    Update(UpdateCommand),
    /// Call an exported function of an actor.
    Call(CallArgs),
    /// Show what an actor logged recently, on every host (and, with --follow, what it logs next).
    Logs(LogsArgs),
    /// Set or remove a host's labels.
    #[command(subcommand)]
    Label(LabelCommand),
    /// Wire an actor's imports to the entity that answers them.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Store a signed actor component or provider archive in the lattice, for every host to start.
    Push(PushArgs),
    /// Start a lattice on this machine: NATS (unless one answers) and a host.
    Up(UpArgs),
    /// Stop what `floe up --detach` started.
    Down,
    /// Named connection settings (NATS URL, lattice, credentials, seed), like kubectl contexts.
    #[command(subcommand)]
    Context(ContextCommand),
    /// Stream the lattice's events as they happen.
    Watch(WatchArgs),
    /// Print a shell completion script: `floe completions bash > /etc/bash_completion.d/floe`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Route SOURCE's imports of INTERFACES to TARGET (applied at once on every host).
    Put(LinkPutArgs),
    /// Remove a link.
    Del {
        /// The source: an actor or provider (id or unique name).
        source: String,
        /// The WIT package, `ns:pkg`.
        package: String,
        /// The link's name (links of one source and package differ by it).
        #[arg(long, default_value = "default")]
        link_name: String,
    },
}

#[derive(Debug, Args)]
pub struct LinkPutArgs {
    /// The source: the importing actor, or a provider calling actors (id or unique name).
    pub source: String,
    /// The entity that answers (id or unique name).
    pub target: String,
    /// `ns:pkg/iface[,iface…]`: interfaces of one package.
    pub interfaces: String,
    /// The link's name: a source has one link per package and name.
    #[arg(long, default_value = "default")]
    pub link_name: String,
    /// Configuration for the source side, `key=value` (repeatable).
    #[arg(long = "source-config", value_parser = parse_key_value)]
    pub source_config: Vec<(String, String)>,
    /// Configuration for the target side, `key=value` (repeatable).
    #[arg(long = "target-config", value_parser = parse_key_value)]
    pub target_config: Vec<(String, String)>,
    /// An annotation `key=value` (repeatable).
    #[arg(long = "annotation", value_parser = parse_key_value)]
    pub annotations: Vec<(String, String)>,
}

#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// Every host on the lattice.
    Hosts,
    /// What a host runs (every host when none is named).
    Inventory {
        /// A host id or a unique prefix of one.
        host: Option<String>,
    },
    /// Every link of the lattice.
    Links,
    /// Every actor on the lattice, summed over the hosts running it.
    Actors,
    /// Every provider on the lattice, summed over the hosts running it.
    Providers,
    /// The artifacts stored in the lattice (`floe push`), with their tags.
    Artifacts,
    /// The verified claims of every running actor and signed provider: issuer, version, capabilities, expiry.
    Claims,
}

#[derive(Debug, Subcommand)]
pub enum StartCommand {
    /// Start a signed actor component.
    Actor(StartActorArgs),
    /// Start a capability provider (an executable) on a host.
    Provider(StartProviderArgs),
}

#[derive(Debug, Args)]
pub struct StartProviderArgs {
    /// A signed provider archive: `floe://sha256:…` or `floe://NAME:TAG` from
    /// `floe push`, or a path on the chosen host's machine (made absolute).
    /// A plain executable's path also works, for development (with a warning).
    pub reference: PathBuf,
    /// The host to start it on (default: an auction picks one).
    #[arg(long, conflicts_with = "constraints")]
    pub host: Option<String>,
    /// Only hosts with this label `key=value` bid (repeatable).
    #[arg(long = "constraint", value_parser = parse_key_value)]
    pub constraints: Vec<(String, String)>,
    /// A plain executable's identity: a provider seed (SV…) or a key saved on the host (default: one kept for the binary's name). An archive's id is its claims' subject.
    #[arg(long, value_name = "NAME|SEED")]
    pub provider_key: Option<String>,
    /// Config `key=value` handed to the provider (repeatable).
    #[arg(long = "config", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// An annotation `key=value` kept with the provider (repeatable).
    #[arg(long = "annotation", value_parser = parse_key_value)]
    pub annotations: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct StartActorArgs {
    /// The signed component: a file path (made absolute; it must exist on the chosen host).
    pub reference: PathBuf,
    /// The host to start it on (default: an auction picks one).
    #[arg(long, conflicts_with = "constraints")]
    pub host: Option<String>,
    /// Only hosts with this label `key=value` bid (repeatable).
    #[arg(long = "constraint", value_parser = parse_key_value)]
    pub constraints: Vec<(String, String)>,
    /// Instances that may run at once on that host.
    #[arg(long)]
    pub max_concurrent: Option<u32>,
    /// Config `key=value` the actor reads through wasi:config (repeatable).
    #[arg(long = "config", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// An annotation `key=value` kept with the actor (repeatable).
    #[arg(long = "annotation", value_parser = parse_key_value)]
    pub annotations: Vec<(String, String)>,
}

#[derive(Debug, Subcommand)]
pub enum StopCommand {
    /// Stop a provider (on every host running it unless --host is given).
    Provider {
        /// A provider id or unique name.
        provider: String,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
    /// Stop an actor (on every host running it unless --host is given).
    Actor {
        /// An actor id or unique name.
        actor: String,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
    /// Stop a host gracefully: in-flight calls finish first.
    Host {
        /// A host id or a unique prefix of one.
        host: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScaleCommand {
    /// Set an actor's max-concurrent (on every host running it unless --host is given).
    Actor {
        /// An actor id or unique name.
        actor: String,
        /// Instances that may run at once on each host.
        #[arg(long)]
        max_concurrent: u32,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Swap an actor to a new signed component of the same actor id.
    Actor {
        /// An actor id or unique name.
        actor: String,
        /// The new signed component (a file path, or floe://…).
        reference: PathBuf,
        /// Only on this host (id or unique prefix).
        #[arg(long)]
        host: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// An actor id or unique name.
    pub actor: String,
    /// The function: `ns:pkg/iface.func` (or `func` for a top-level export).
    pub operation: String,
    /// The arguments: a JSON array of the parameters in order (WAVE with --wave).
    #[arg(conflicts_with = "args_file")]
    pub args: Option<String>,
    /// Read the arguments from this file (`-` for stdin): for arguments too
    /// long for a command line.
    #[arg(long, value_name = "PATH")]
    pub args_file: Option<std::path::PathBuf>,
    /// Take the arguments and print the result in WAVE (`"hi", [1, 2]`).
    #[arg(long)]
    pub wave: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// An actor id or unique name (of a running actor; pass the id for one that stopped).
    pub actor: String,
    /// Keep printing what it logs next, until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,
}

#[derive(Debug, Subcommand)]
pub enum LabelCommand {
    /// Set a label `key=value` on a host.
    Put {
        /// A host id or a unique prefix of one.
        host: String,
        /// `key=value`.
        #[arg(value_parser = parse_key_value)]
        label: (String, String),
    },
    /// Remove a label from a host.
    Del {
        /// A host id or a unique prefix of one.
        host: String,
        /// The label's key.
        key: String,
    },
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not key=value"))?;
    if k.trim().is_empty() {
        return Err(format!("`{text}` has an empty key"));
    }
    Ok((k.trim().to_owned(), v.trim().to_owned()))
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
    #[command(flatten)]
    pub validity: ValidityArgs,
    /// Where to write the signed component (default: NAME_s.wasm beside the input).
    #[arg(long, value_name = "OUT.wasm")]
    pub destination: Option<PathBuf>,
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

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Store a manifest (YAML or JSON) as the app's next version; the
    /// reconciler makes it true (docs/apps.md).
    Apply {
        /// The manifest file.
        file: PathBuf,
    },
    /// Every app, its current version and state.
    List,
    /// What the reconciler last found for an app: deployed, reconciling (with
    /// what is missing) or failed (with why).
    Status { name: String },
    /// Every version applied to an app.
    History { name: String },
    /// Apply an earlier version again (default: the one before the current).
    Rollback {
        name: String,
        /// The version's sequence number (see `floe app history`).
        version: Option<u64>,
    },
    /// Remove an app and exactly what it started (replicas, providers, links).
    Delete {
        name: String,
        /// Remove the app's records at once, even ones that do not open
        /// (sealed under another cluster key); the reconciler's leader then
        /// removes what the app started, as for any app whose records are gone.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Make a signed provider archive: one binary per target triple, and
    /// claims (signed by the issuer) holding each binary's sha256.
    Package(Box<ProviderPackageArgs>),
    /// Show an archive's claims and whether its signature and binaries hold.
    Inspect(ProviderInspectArgs),
}

#[derive(Debug, Args)]
pub struct ProviderPackageArgs {
    /// The issuer's account key: a name saved with `floe keys gen --save` or a seed.
    #[arg(long, value_name = "NAME|SEED")]
    pub issuer: String,
    /// The provider's name (what links and `floe get providers` show).
    #[arg(long)]
    pub name: String,
    /// An interface it answers, `ns:pkg/iface` (repeatable; none for a provider
    /// that only calls actors, like an HTTP server).
    #[arg(long = "implements", value_name = "INTERFACE")]
    pub implements: Vec<String>,
    /// The executable for one target (repeatable), e.g.
    /// `x86_64-unknown-linux-gnu=target/release/my-provider`.
    #[arg(long = "binary", value_name = "TRIPLE=PATH", required = true, value_parser = parse_target_binary)]
    pub binaries: Vec<(String, PathBuf)>,
    /// The release version (free-form, usually semver).
    #[arg(long = "version", value_name = "VERSION", default_value = "0.1.0")]
    pub release: String,
    /// Monotonic revision number.
    #[arg(long, default_value_t = 0)]
    pub revision: u32,
    /// The provider id: a saved provider key name, a provider seed or a `V…`
    /// public key. Default: the provider key saved as `NAME-provider`
    /// (created on first use), so every version keeps one id.
    #[arg(long, value_name = "NAME|SEED|KEY")]
    pub subject: Option<String>,
    #[command(flatten)]
    pub validity: ValidityArgs,
    /// Where to write the archive (default: NAME.par.gz in the current directory).
    #[arg(long, value_name = "OUT.par.gz")]
    pub destination: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProviderInspectArgs {
    /// The archive.
    pub archive: PathBuf,
}

fn parse_target_binary(text: &str) -> Result<(String, PathBuf), String> {
    let (target, path) = text.split_once('=').ok_or_else(|| {
        format!(
            "`{text}` is not TRIPLE=PATH (e.g. x86_64-unknown-linux-gnu=target/release/my-provider)"
        )
    })?;
    if !floe_wire::archive::valid_target(target) {
        return Err(format!(
            "`{target}` is not a target triple (e.g. x86_64-unknown-linux-gnu; `rustc -vV` prints yours as `host:`)"
        ));
    }
    if path.is_empty() {
        return Err(format!("no path after `{target}=`"));
    }
    Ok((target.to_owned(), PathBuf::from(path)))
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

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only events of this type (repeatable), e.g. actor_started, provider_restarted.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<EventTypeArg>,
    /// Stop after this many events.
    #[arg(long)]
    pub count: Option<usize>,
}

/// An event type named on the command line (`actor_started`, …).
#[derive(Debug, Clone, Copy)]
pub struct EventTypeArg(pub floe_wire::EventType);

impl std::str::FromStr for EventTypeArg {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        floe_wire::EventType::from_name(name)
            .map(EventTypeArg)
            .ok_or_else(|| {
                let known: Vec<&str> = floe_wire::EventType::ALL.iter().map(|e| e.name()).collect();
                format!(
                    "`{name}` is not an event type; use one of: {}",
                    known.join(", ")
                )
            })
    }
}

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// Save a context from the --nats-url, --lattice, --creds and
    /// --cluster-seed given with it: `floe context add prod --nats-url nats://… --use`.
    Add {
        /// The context's name (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Make it the current context too.
        #[arg(long = "use")]
        make_current: bool,
    },
    /// Make a context the current one.
    Use {
        /// A context's name.
        name: String,
    },
    /// List the contexts (the current one marked).
    List,
    /// Remove a context.
    Del {
        /// A context's name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Start (or use) NATS on 127.0.0.1:PORT instead of --nats-url.
    #[arg(long)]
    pub port: Option<u16>,
    /// Leave it running in the background; `floe down` stops it.
    #[arg(long)]
    pub detach: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// A signed actor component (`floe claims sign`) or provider archive (`floe provider package`).
    pub file: PathBuf,
    /// Also name it NAME:TAG (start it with `floe start actor|provider floe://NAME:TAG`).
    #[arg(long, value_name = "NAME:TAG")]
    pub name: Option<String>,
}
