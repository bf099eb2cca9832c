//! The host's configuration: one struct, every field a flag with a
//! documented default and an environment variable (`FLOE_…`).

use std::path::PathBuf;
use std::time::Duration;

use floe_wire::LatticeId;
use floe_wire::duration::{OptionalDuration, parse_flag_duration};

/// How a `floe-host` runs. Defaults suit one host on a laptop; tests set the
/// timing knobs small.
#[derive(Debug, Clone, clap::Args)]
pub struct HostConfig {
    /// NATS server(s) to join, comma-separated.
    #[arg(long, env = "FLOE_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// The lattice to join.
    #[arg(long, env = "FLOE_LATTICE", default_value = "default")]
    pub lattice: LatticeId,
    /// A label `key=value` for placement (repeatable).
    #[arg(long = "label", env = "FLOE_LABELS", value_delimiter = ',', value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Accept only actors and provider archives signed by these issuers (`A…`; repeatable). Empty: any issuer.
    #[arg(
        long = "allowed-issuer",
        env = "FLOE_ALLOWED_ISSUERS",
        value_delimiter = ',',
        value_parser = parse_issuer
    )]
    pub allowed_issuers: Vec<String>,
    /// NATS credentials file.
    #[arg(long, env = "FLOE_CREDS")]
    pub creds: Option<PathBuf>,
    /// A stable host id: a saved host key name or a host seed (default: a new key each start).
    #[arg(long, env = "FLOE_HOST_KEY", value_name = "NAME|SEED")]
    pub host_key: Option<String>,
    /// The cluster seed (`SC…`, or the name of a saved key) whose lattice key
    /// authenticates every message. Default: $FLOE_CLUSTER_SEED, else the
    /// seed saved in $FLOE_HOME/keys/cluster.nk, else a new one saved there.
    #[arg(long, value_name = "NAME|SEED", hide_env_values = true)]
    pub cluster_seed: Option<String>,
    /// Also accept messages sealed under this cluster seed (repeatable), while
    /// a seed is rotated: hosts first accept the new seed, then switch to it.
    #[arg(
        long = "accept-cluster-seed",
        env = "FLOE_ACCEPT_CLUSTER_SEEDS",
        value_delimiter = ',',
        value_name = "NAME|SEED",
        hide_env_values = true
    )]
    pub accept_cluster_seeds: Vec<String>,
    /// A secrets key this host holds (repeatable): an `SX…` seed, a file
    /// holding one, or `cluster` for the key derived from the cluster
    /// seed(s). Default: `cluster`. Only hosts holding the key a secret is
    /// sealed to can start actors that read it.
    #[arg(
        long = "secrets-key",
        env = "FLOE_SECRETS_KEYS",
        value_delimiter = ',',
        value_name = "SEED|FILE|cluster",
        hide_env_values = true,
        value_parser = parse_secrets_key
    )]
    pub secrets_keys: Vec<SecretsKeySource>,
    /// Messages issued longer ago than this are refused (replay protection).
    #[arg(long, env = "FLOE_AUTH_WINDOW", default_value = "60s", value_parser = parse_flag_duration)]
    pub auth_window: Duration,
    /// How far ahead of this host's clock a sender's clock may run.
    #[arg(long, env = "FLOE_AUTH_SKEW", default_value = "30s", value_parser = parse_flag_duration)]
    pub auth_skew: Duration,
    /// How often to publish a heartbeat (only the reconciler's leader
    /// follows them).
    #[arg(long, env = "FLOE_HEARTBEAT", default_value = "1s", value_parser = parse_flag_duration)]
    pub heartbeat: Duration,
    /// Heartbeats a host may miss before the reconciler declares it lost and
    /// places its share elsewhere.
    #[arg(long, env = "FLOE_MISSED_BEATS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub missed_beats: u32,
    /// The reconciler's leader lease: a dead leader is replaced within it.
    #[arg(long, env = "FLOE_LEASE_TTL", default_value = "6s", value_parser = parse_flag_duration)]
    pub lease_ttl: Duration,
    /// Time between two passes of the reconciler's leader.
    #[arg(long, env = "FLOE_RECONCILE_INTERVAL", default_value = "1s", value_parser = parse_flag_duration)]
    pub reconcile_interval: Duration,
    /// Linear memory one actor instance may grow to (e.g. 64MiB).
    #[arg(long, env = "FLOE_MAX_MEMORY_PER_INSTANCE", default_value = "64MiB", value_parser = parse_size)]
    pub max_memory_per_instance: u64,
    /// How long a starting host waits for NATS (retrying in the background)
    /// before it gives up; a stop while it waits ends it at once.
    #[arg(long, env = "FLOE_CONNECT_TIMEOUT", default_value = "30s", value_parser = parse_flag_duration)]
    pub connect_timeout: Duration,
    /// The longest any invocation may run; callers may ask for less.
    #[arg(long, env = "FLOE_INVOCATION_TIMEOUT", default_value = "10s", value_parser = parse_flag_duration)]
    pub invocation_timeout: Duration,
    /// The largest payload one call may carry, either way; a payload larger
    /// than the NATS server's max payload travels through the lattice's
    /// payload object store.
    #[arg(long, env = "FLOE_MAX_CALL_BYTES", default_value = "64MiB", value_parser = parse_size_usize)]
    pub max_call_bytes: usize,
    /// Instances of one actor that may run at once, unless its start says otherwise.
    #[arg(long, env = "FLOE_MAX_CONCURRENT", default_value_t = 64)]
    pub max_concurrent: u32,
    /// Calls that may wait for an instance, per actor, before new ones fail `busy`.
    #[arg(long, env = "FLOE_QUEUE_DEPTH", default_value_t = 1024)]
    pub queue_depth: usize,
    /// How long an actor may serve no call before it goes dormant (its
    /// compiled code freed until the next call loads it again from the
    /// compile cache), unless its start says otherwise; `never` keeps every
    /// actor active.
    #[arg(long, env = "FLOE_IDLE_AFTER", default_value = "5m", value_parser = clap::value_parser!(OptionalDuration))]
    pub idle_after: OptionalDuration,
    /// How often to look for idle actors to put to sleep.
    #[arg(long, env = "FLOE_IDLE_CHECK", default_value = "1s", value_parser = parse_flag_duration)]
    pub idle_check: Duration,
    /// Calls one instance of an actor may serve before it is replaced: 0
    /// (the default) or 1 gives every call a fresh instance. Reuse is
    /// faster, but keeps a guest's state from one call to the next of the
    /// same actor (never across actors); see docs/security.md. An instance
    /// is reused only after a call that ended normally and left nothing
    /// open.
    #[arg(long, env = "FLOE_REUSE", default_value_t = 0)]
    pub reuse: u32,
    /// Calls one instance of a WASI 0.3 actor runs at once, for its async
    /// exports (`wasi:http/handler`, `async func`); 1 runs them one after
    /// another. An actor with imports routed by link (wasi:keyvalue, links)
    /// always runs one at a time per instance. See docs/operations.md.
    #[arg(long, env = "FLOE_MAX_CONCURRENT_PER_INSTANCE", default_value_t = crate::runtime::SharedLimits::DEFAULT_MAX_CONCURRENT)]
    pub max_concurrent_per_instance: u32,
    /// Calls one instance of a WASI 0.3 actor serves (to its async
    /// exports) before it is replaced; 0 or 1 gives every call a fresh
    /// instance.
    #[arg(long, env = "FLOE_MAX_CALLS_PER_INSTANCE", default_value_t = crate::runtime::SharedLimits::DEFAULT_MAX_CALLS)]
    pub max_calls_per_instance: u32,
    /// Instance slots in the pooling allocator (all actors together).
    #[arg(long, env = "FLOE_MAX_INSTANCES", default_value_t = 1000)]
    pub max_instances: u32,
    /// Serve Prometheus metrics (OpenMetrics text) at http://ADDR/metrics,
    /// e.g. 127.0.0.1:9090; off by default.
    #[arg(long, env = "FLOE_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Serve ingress on this address (e.g. 0.0.0.0:8080): every route of
    /// the lattice (`floe ingress put`) on one listener. Off by default.
    #[arg(long, env = "FLOE_INGRESS")]
    pub ingress: Option<std::net::SocketAddr>,
    /// Also serve ingress over TLS on this address (e.g. 0.0.0.0:8443),
    /// each route's certificate from its `tls` secret, picked by SNI.
    #[arg(long, env = "FLOE_INGRESS_TLS", requires = "ingress")]
    pub ingress_tls: Option<std::net::SocketAddr>,
    /// Ingress connections open at once, at most (more wait to be accepted).
    #[arg(long, env = "FLOE_INGRESS_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub ingress_max_connections: usize,
    /// The largest ingress request body.
    #[arg(long, env = "FLOE_INGRESS_MAX_BODY", default_value = "16MiB", value_parser = parse_size_usize)]
    pub ingress_max_body: usize,
    /// How long an ingress client has to send a request's headers.
    #[arg(long, env = "FLOE_INGRESS_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_flag_duration)]
    pub ingress_header_timeout: Duration,
    /// How long an ingress request may take unless its route says.
    #[arg(long, env = "FLOE_INGRESS_TIMEOUT", default_value = "30s", value_parser = parse_flag_duration)]
    pub ingress_timeout: Duration,
    /// How long a graceful stop waits for in-flight calls.
    #[arg(long, env = "FLOE_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_flag_duration)]
    pub shutdown_timeout: Duration,
    /// How often to check that each provider is healthy.
    #[arg(long, env = "FLOE_PROVIDER_HEALTH_INTERVAL", default_value = "5s", value_parser = parse_flag_duration)]
    pub provider_health_interval: Duration,
    /// How long a starting provider has to answer its first health check.
    #[arg(long, env = "FLOE_PROVIDER_START_TIMEOUT", default_value = "30s", value_parser = parse_flag_duration)]
    pub provider_start_timeout: Duration,
    /// How long a stopping provider gets after the shutdown request, and
    /// again after SIGTERM, before SIGKILL.
    #[arg(long, env = "FLOE_PROVIDER_SHUTDOWN_GRACE", default_value = "5s", value_parser = parse_flag_duration)]
    pub provider_shutdown_grace: Duration,
    /// Where compiled code is cached (default: $FLOE_HOME/cache/compiled).
    #[arg(long, env = "FLOE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Floe's home directory: saved keys, the cluster seed, caches
    /// (default: $FLOE_HOME, else ~/.floe).
    #[arg(long, env = "FLOE_HOME")]
    pub home: Option<PathBuf>,
}

/// Where a secrets key comes from (never printed: it may hold a seed).
#[derive(Clone, PartialEq, Eq)]
pub enum SecretsKeySource {
    /// Derived from each cluster seed the host accepts.
    Cluster,
    /// A seed (`SX…`) given on the command line.
    Seed(String),
    /// A file holding a seed.
    File(PathBuf),
}

impl std::fmt::Debug for SecretsKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretsKeySource::Cluster => f.write_str("cluster"),
            SecretsKeySource::Seed(_) => f.write_str("[REDACTED]"),
            SecretsKeySource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

fn parse_secrets_key(text: &str) -> Result<SecretsKeySource, BadFlag> {
    let text = text.trim();
    if text == "cluster" {
        Ok(SecretsKeySource::Cluster)
    } else if text.starts_with("SX") {
        // Checked when the host reads its keys, which never prints it.
        Ok(SecretsKeySource::Seed(text.to_owned()))
    } else if text.is_empty() {
        Err(BadFlag(
            "a secrets key is an SX… seed, a file holding one, or `cluster`".into(),
        ))
    } else {
        Ok(SecretsKeySource::File(PathBuf::from(text)))
    }
}

/// A flag value that does not parse, and why (clap prints it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadFlag(String);

fn parse_issuer(text: &str) -> Result<String, BadFlag> {
    floe_wire::keys::parse_public(text.trim(), floe_wire::KeyKind::Account)
        .map(|_| text.trim().to_owned())
        .map_err(|e| BadFlag(e.to_string()))
}

fn parse_label(text: &str) -> Result<(String, String), BadFlag> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| BadFlag(format!("`{text}` is not key=value")))?;
    let k = k.trim();
    if k.is_empty() || k.contains(char::is_whitespace) {
        return Err(BadFlag(format!("`{k}` is not a valid label key")));
    }
    Ok((k.to_owned(), v.trim().to_owned()))
}

/// Parses sizes like `64MiB`, `512KiB`, `1GiB`, `1048576`.
pub fn parse_size(text: &str) -> Result<u64, BadFlag> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| BadFlag(format!("`{text}` is not a size (try 64MiB)")))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(BadFlag(format!(
                "unknown size unit `{other}` (use KiB, MiB or GiB)"
            )));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| BadFlag(format!("`{text}` is too large")))
}

/// [`parse_size`] for sizes held in memory.
pub fn parse_size_usize(text: &str) -> Result<usize, BadFlag> {
    parse_size(text)
        .and_then(|n| usize::try_from(n).map_err(|_| BadFlag(format!("`{text}` is too large"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_labels_parse() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5PiB").is_err());
        assert_eq!(parse_label("zone=a"), Ok(("zone".into(), "a".into())));
        assert!(parse_label("zone").is_err());
        assert!(parse_issuer("Anot-a-key").is_err());
        let account = floe_wire::KeyKind::Account.generate().public_key();
        assert_eq!(parse_issuer(&account), Ok(account.clone()));
        let actor = floe_wire::KeyKind::Actor.generate().public_key();
        assert!(parse_issuer(&actor).is_err(), "only account keys issue");
    }
}
