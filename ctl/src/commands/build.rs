//! `floe build`: builds the project with its language's tool, signs the
//! component as the project's actor (claiming exactly what its imports
//! need, listed), and prints the signed file and the actor id.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use floe_wire::FloeHome;

use crate::output::{self, OutputFormat};
use crate::project::signing::{self, DEVELOPER_ISSUER, Signed};
use crate::project::{Project, toolchain};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The issuer key to sign with: a name saved under $FLOE_HOME/keys
    /// (made on first use).
    #[arg(long, value_name = "NAME", default_value = DEVELOPER_ISSUER)]
    pub issuer: String,
    /// The project directory (default: the one you are in, or above).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The project `dir` (or the working directory) is in.
pub fn project(dir: Option<&Path>) -> anyhow::Result<Project> {
    let start = match dir {
        Some(dir) => dir.to_owned(),
        None => std::env::current_dir().context("cannot read the working directory")?,
    };
    let start = std::fs::canonicalize(&start)
        .with_context(|| format!("{} does not exist", start.display()))?;
    Ok(Project::find(&start)?)
}

/// Builds and signs `project`; says what it built on stderr.
pub fn build_and_sign(project: &Project, home: &FloeHome, issuer: &str) -> anyhow::Result<Signed> {
    eprintln!(
        "Building {} ({})…",
        project.name(),
        toolchain::BuildPlan::of(project).command.join(" ")
    );
    let built = toolchain::build(project)?;
    eprintln!(
        "Built {} in {:.1} s",
        built.component.display(),
        built.elapsed.as_secs_f64()
    );
    let signed = signing::sign(project, home, issuer, &built.component)?;
    for key in &signed.new_keys {
        eprintln!(
            "Made a new key and saved it at {} (keep it: it signs this actor's next versions)",
            key.display()
        );
    }
    Ok(signed)
}

pub fn run(args: &BuildArgs, home: &FloeHome, format: OutputFormat) -> anyhow::Result<()> {
    let project = project(args.dir.as_deref())?;
    let signed = build_and_sign(&project, home, &args.issuer)?;
    if !format.is_text() {
        return output::print_data(format, &signed);
    }
    print_signed(&signed);
    Ok(())
}

pub fn print_signed(signed: &Signed) {
    println!("Signed {}", signed.path.display());
    println!(
        "Actor  {} ({} {}, revision {})",
        signed.actor_id, signed.name, signed.version, signed.revision
    );
    for note in &signed.notes {
        println!("Note   {note}");
    }
    if signed.claims.is_empty() {
        println!("Claims none: it imports nothing that needs a claim");
    } else {
        println!("Claims (what its imports need, and what each grants):");
        for (cap, grants) in &signed.claims {
            println!("  {cap}: {grants}");
        }
    }
}
