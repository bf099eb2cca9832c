//! `floe context add|use|list|del`, and applying the context in force to
//! the global flags before a lattice command connects.

use floe_ctl::contexts::{Context, Contexts};
use floe_wire::FloeHome;

use clap::Subcommand;

use crate::args::GlobalArgs;
use crate::output::{self, OutputFormat};

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

/// Which global flags were typed (or set in the environment), so the
/// context fills only the others.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit {
    pub nats_url: bool,
    pub lattice: bool,
    pub creds: bool,
    pub cluster_seed: bool,
}

/// Fills the global flags not given explicitly from the context in force;
/// returns its name.
pub fn apply(
    global: &mut GlobalArgs,
    explicit: Explicit,
    home: &FloeHome,
) -> anyhow::Result<Option<String>> {
    let contexts = Contexts::load(home.root())?;
    let Some((name, context)) = contexts.active(global.context.as_deref())? else {
        return Ok(None);
    };
    if !explicit.nats_url
        && let Some(url) = &context.nats_url
    {
        global.nats_url.clone_from(url);
    }
    if !explicit.lattice
        && let Some(lattice) = &context.lattice
    {
        global.lattice = lattice.parse().map_err(|e| {
            anyhow::anyhow!("context `{name}` names lattice `{lattice}`: {e} (fix it with `floe context add {name} --lattice …`)")
        })?;
    }
    if !explicit.creds && context.creds.is_some() {
        global.creds.clone_from(&context.creds);
    }
    // The seed: flag, then FLOE_CLUSTER_SEED, then the context, then the
    // seed saved under $FLOE_HOME.
    let env_seed =
        std::env::var(floe_wire::auth::seed::SEED_ENV).is_ok_and(|v| !v.trim().is_empty());
    if !explicit.cluster_seed && !env_seed && context.cluster_seed.is_some() {
        global.cluster_seed.clone_from(&context.cluster_seed);
    }
    Ok(Some(name.to_owned()))
}

pub fn run(
    cmd: ContextCommand,
    global: &GlobalArgs,
    explicit: Explicit,
    home: &FloeHome,
) -> anyhow::Result<()> {
    let mut contexts = Contexts::load(home.root())?;
    let format = global.output;
    match cmd {
        ContextCommand::Add { name, make_current } => {
            add(&mut contexts, global, explicit, home, &name, make_current)
        }
        ContextCommand::Use { name } => {
            contexts.use_context(&name)?;
            contexts.save(home.root())?;
            if format.is_text() {
                println!("Now using context `{name}`");
                Ok(())
            } else {
                output::print_data(format, &redacted_all(&contexts))
            }
        }
        ContextCommand::Del { name } => {
            contexts.remove(&name)?;
            contexts.save(home.root())?;
            if format.is_text() {
                println!("Context `{name}` removed");
                Ok(())
            } else {
                output::print_data(format, &redacted_all(&contexts))
            }
        }
        ContextCommand::List => list(&contexts, format),
    }
}

/// `floe context add NAME`: the connection flags given with it.
fn add(
    contexts: &mut Contexts,
    global: &GlobalArgs,
    explicit: Explicit,
    home: &FloeHome,
    name: &str,
    make_current: bool,
) -> anyhow::Result<()> {
    let format = global.output;
    let context = Context {
        nats_url: explicit.nats_url.then(|| global.nats_url.clone()),
        lattice: explicit.lattice.then(|| global.lattice.to_string()),
        creds: global.creds.clone().filter(|_| explicit.creds),
        cluster_seed: global
            .cluster_seed
            .clone()
            .filter(|_| explicit.cluster_seed),
    };
    if context == Context::default() {
        anyhow::bail!(
            "context `{name}` would set nothing: give it --nats-url, --lattice, --creds or --cluster-seed"
        );
    }
    contexts.put(name, context.clone())?;
    if make_current {
        contexts.use_context(name)?;
    }
    let path = contexts.save(home.root())?;
    if format.is_text() {
        println!(
            "Context `{name}` saved in {}{}",
            path.display(),
            if make_current { " (now current)" } else { "" }
        );
        Ok(())
    } else {
        output::print_data(format, &redacted(&context))
    }
}

/// `floe context list`.
fn list(contexts: &Contexts, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json | OutputFormat::Yaml => {
            output::print_data(format, &redacted_all(contexts))
        }
        OutputFormat::Text if contexts.contexts.is_empty() => {
            println!(
                "No contexts (add one with `floe context add NAME --nats-url nats://HOST:4222 --use`)."
            );
            Ok(())
        }
        OutputFormat::Text => {
            let current = contexts.current_context.as_deref();
            let rows: Vec<Vec<String>> = contexts
                .contexts
                .iter()
                .map(|(name, c)| {
                    vec![
                        if Some(name.as_str()) == current {
                            "*"
                        } else {
                            ""
                        }
                        .to_owned(),
                        name.clone(),
                        c.nats_url.clone().unwrap_or_default(),
                        c.lattice.clone().unwrap_or_default(),
                        c.creds
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        // Never print a seed, only whether one is set.
                        if c.cluster_seed.is_some() { "set" } else { "" }.to_owned(),
                    ]
                })
                .collect();
            output::print_table(
                &["CURRENT", "NAME", "NATS", "LATTICE", "CREDS", "SEED"],
                &rows,
            )
        }
    }
}

/// A context as printed: a seed itself (`S…`) never shows, a saved key's
/// name does.
fn redacted(context: &Context) -> Context {
    Context {
        cluster_seed: context.cluster_seed.as_ref().map(|seed| {
            if seed.starts_with('S') {
                "<seed>".to_owned()
            } else {
                seed.clone()
            }
        }),
        ..context.clone()
    }
}

fn redacted_all(contexts: &Contexts) -> Contexts {
    Contexts {
        current_context: contexts.current_context.clone(),
        contexts: contexts
            .contexts
            .iter()
            .map(|(name, c)| (name.clone(), redacted(c)))
            .collect(),
    }
}
