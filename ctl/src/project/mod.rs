//! An actor project on disk: its `floe.toml` (name, version, language,
//! template, build overrides), found from any directory inside it. What
//! `floe new` writes ([`templates`]), how `floe build` builds it
//! ([`toolchain`]) and signs it ([`signing`]).

pub mod signing;
pub mod templates;
pub mod toolchain;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file that marks a project's root.
pub const MANIFEST: &str = "floe.toml";

/// The languages `floe new` writes and `floe build` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    Js,
}

/// What a new project starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Template {
    /// Exports one function, `hello`.
    Hello,
    /// Serves `wasi:http/incoming-handler`.
    Http,
    /// Counts in `wasi:keyvalue`.
    Kv,
}

/// `floe.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub actor: ActorSection,
    #[serde(default)]
    pub build: BuildSection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSection {
    /// The actor's name (its claims, `floe call NAME`, its saved key).
    pub name: String,
    pub version: String,
    pub language: Language,
    /// What `floe dev` wires it to: `http` gets the http-server provider,
    /// `kv` the keyvalue provider.
    pub template: Template,
    /// Claim `wasi:http/outgoing-handler` when the component imports it:
    /// requests to any host. Off unless asked for, as toolchains link it
    /// whether or not the code makes requests.
    #[serde(
        default,
        rename = "outgoing-http",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub outgoing_http: bool,
}

/// Overrides of the language's build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSection {
    /// The build command, run in the project directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The component it writes, relative to the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// What `floe dev` watches, relative to the project (default: the
    /// language's sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Vec<PathBuf>>,
}

/// A project: its root and manifest.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub manifest: Manifest,
}

/// Why a project could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(
        "no {MANIFEST} in {0} or any directory above it: run this inside a project made by `floe new actor NAME`"
    )]
    NotFound(PathBuf),
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path} is not a valid project manifest: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl Project {
    /// The project `dir` is in (`dir` or the nearest directory above it
    /// holding a `floe.toml`).
    pub fn find(dir: &Path) -> Result<Self, ProjectError> {
        let root = dir
            .ancestors()
            .find(|d| d.join(MANIFEST).is_file())
            .ok_or_else(|| ProjectError::NotFound(dir.to_owned()))?
            .to_owned();
        let path = root.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| ProjectError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| ProjectError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if !valid_name(&manifest.actor.name) {
            return Err(ProjectError::Invalid {
                path,
                reason: name_rule(&manifest.actor.name),
            });
        }
        Ok(Project { root, manifest })
    }

    pub fn name(&self) -> &str {
        &self.manifest.actor.name
    }
}

/// An actor name usable as a crate, package, WIT world and key name: 1 to
/// 63 of `a-z`, `0-9` and `-`, starting with a letter, no `--`, not ending
/// in `-`.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && !name.ends_with('-')
        && !name.contains("--")
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Why `name` is not an actor name.
pub fn name_rule(name: &str) -> String {
    format!(
        "`{name}` is not an actor name: 1 to 63 of a-z, 0-9 and `-`, starting with a letter (e.g. `my-actor`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case_identifiers() {
        for good in ["hello", "my-actor", "a1", "x-2-y"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "Hello",
            "1abc",
            "a--b",
            "a-",
            "a_b",
            "a.b",
            &"a".repeat(64),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_project_is_found_from_inside_it_and_its_manifest_checked() {
        let dir = tempfile::tempdir().expect("dir");
        let inner = dir.path().join("src/deep");
        std::fs::create_dir_all(&inner).expect("dirs");
        assert!(matches!(
            Project::find(&inner),
            Err(ProjectError::NotFound(_))
        ));
        std::fs::write(
            dir.path().join(MANIFEST),
            "[actor]\nname = \"hi\"\nversion = \"0.1.0\"\nlanguage = \"rust\"\ntemplate = \"http\"\n",
        )
        .expect("written");
        let project = Project::find(&inner).expect("found");
        assert_eq!(project.root, dir.path());
        assert_eq!(project.manifest.actor.template, Template::Http);
        std::fs::write(
            dir.path().join(MANIFEST),
            "[actor]\nname = \"hi\"\nversion = \"0.1.0\"\nlanguage = \"cobol\"\ntemplate = \"http\"\n",
        )
        .expect("written");
        let e = Project::find(&inner).expect_err("unknown language");
        assert!(e.to_string().contains("cobol"), "{e}");
    }
}
