//! `floe new actor NAME --lang rust|python|js --template hello|http|kv`: a
//! project from a template shipped inside `floe`, ready for `floe build`
//! and `floe dev`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::output::{self, OutputFormat};
use crate::project::{Language, Template, name_rule, templates, valid_name};

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A new actor project: its WIT world, sources, build files, README and floe.toml.
    Actor(NewActorArgs),
}

#[derive(Debug, Args)]
pub struct NewActorArgs {
    /// The actor's name (a-z, 0-9 and `-`): the directory, the package and the name you call it by.
    pub name: String,
    /// The language to write it in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Language,
    /// What it starts as: `hello` exports one function, `http` serves HTTP,
    /// `kv` counts in wasi:keyvalue.
    #[arg(long, value_enum, default_value = "hello")]
    pub template: Template,
    /// Where to create it (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Created {
    path: String,
    name: String,
    language: Language,
    template: Template,
    files: Vec<String>,
}

impl NewCommand {
    pub fn execute(self, format: OutputFormat) -> anyhow::Result<()> {
        let NewCommand::Actor(args) = self;
        if !valid_name(&args.name) {
            bail!("{}", name_rule(&args.name));
        }
        let dir = args
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&args.name));
        let files = templates::files(&args.name, args.lang, args.template);
        let written = templates::write(&dir, &files)
            .with_context(|| format!("cannot create the project in {}", dir.display()))?;
        let created = Created {
            path: dir.display().to_string(),
            name: args.name.clone(),
            language: args.lang,
            template: args.template,
            files: files.iter().map(|f| f.path.to_owned()).collect(),
        };
        if !format.is_text() {
            return output::print_data(format, &created);
        }
        println!(
            "Created {} ({} files): a {:?} actor from the `{}` template.",
            created.path,
            written.len(),
            args.lang,
            templates::template_name(args.template)
        );
        println!(
            "\nNext:\n  cd {}\n  floe build    # build and sign it\n  floe dev      # run it on the local lattice, swapped in on every change",
            created.path
        );
        Ok(())
    }
}
