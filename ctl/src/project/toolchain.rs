//! Building a project with its language's own tool: cargo for
//! `wasm32-wasip2` (Rust), componentize-py (Python), componentize-js
//! (JavaScript). A missing piece of the toolchain is named with the command
//! that installs it. The tool's output goes to stderr as it runs, so a
//! compiler's message is seen where it is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Language, Project};

/// The Rust target components are built for.
pub const RUST_TARGET: &str = "wasm32-wasip2";

/// A built, unsigned component.
#[derive(Debug, Clone)]
pub struct Built {
    pub component: PathBuf,
    pub elapsed: Duration,
}

/// Why a build did not give a component.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{what} is missing: install it with `{install}`")]
    MissingTool { what: String, install: String },
    #[error("`{command}` failed ({status}); its output is above")]
    Failed { command: String, status: String },
    #[error("cannot run `{command}`: {reason}")]
    Spawn { command: String, reason: String },
    #[error("`{command}` succeeded but wrote no {}: set [build] output in floe.toml", path.display())]
    NoOutput { command: String, path: PathBuf },
}

/// The command a project builds with and the component it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildPlan {
    pub command: Vec<String>,
    pub output: PathBuf,
}

impl BuildPlan {
    pub fn of(project: &Project) -> Self {
        let name = project.name();
        let (command, output) = match project.manifest.actor.language {
            Language::Rust => (
                ["cargo", "build", "--release", "--target", RUST_TARGET]
                    .map(str::to_owned)
                    .to_vec(),
                rust_target_dir(&project.root)
                    .join(RUST_TARGET)
                    .join("release")
                    .join(format!("{}.wasm", name.replace('-', "_"))),
            ),
            Language::Python => (
                vec![
                    "componentize-py".to_owned(),
                    "-d".to_owned(),
                    "wit".to_owned(),
                    "-w".to_owned(),
                    "actor".to_owned(),
                    "componentize".to_owned(),
                    "app".to_owned(),
                    "-o".to_owned(),
                    format!("{name}.wasm"),
                ],
                project.root.join(format!("{name}.wasm")),
            ),
            Language::Js => (
                ["npm", "run", "--silent", "build"]
                    .map(str::to_owned)
                    .to_vec(),
                project.root.join(format!("{name}.wasm")),
            ),
        };
        let build = &project.manifest.build;
        BuildPlan {
            command: build.command.clone().unwrap_or(command),
            output: build
                .output
                .as_ref()
                .map_or(output, |o| project.root.join(o)),
        }
    }

    fn rendered(&self) -> String {
        self.command.join(" ")
    }
}

/// Where cargo writes for a project at `root`: `$CARGO_TARGET_DIR` when set.
fn rust_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// What a project's sources are, for `floe dev` to watch.
pub fn sources(project: &Project) -> Vec<PathBuf> {
    if let Some(watch) = &project.manifest.build.watch {
        return watch.iter().map(|p| project.root.join(p)).collect();
    }
    let names: &[&str] = match project.manifest.actor.language {
        Language::Rust => &["src", "wit", "Cargo.toml"],
        Language::Python => &["app.py", "wit"],
        Language::Js => &["app.js", "wit", "package.json"],
    };
    names
        .iter()
        .map(|n| project.root.join(n))
        .filter(|p| p.exists())
        .collect()
}

/// Checks the language's toolchain is there, naming what is missing.
pub fn check(project: &Project) -> Result<(), BuildError> {
    if project.manifest.build.command.is_some() {
        return Ok(());
    }
    match project.manifest.actor.language {
        Language::Rust => {
            require(
                "cargo",
                "Rust's cargo",
                "curl https://sh.rustup.rs -sSf | sh",
            )?;
            // Without rustup (a distribution's Rust), cargo itself names a
            // missing target.
            if let Ok(out) = Command::new("rustup")
                .args(["target", "list", "--installed"])
                .output()
                && out.status.success()
                && !String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.trim() == RUST_TARGET)
            {
                return Err(BuildError::MissingTool {
                    what: format!("the {RUST_TARGET} Rust target"),
                    install: format!("rustup target add {RUST_TARGET}"),
                });
            }
            Ok(())
        }
        Language::Python => require(
            "componentize-py",
            "componentize-py",
            &format!("pip install componentize-py=={COMPONENTIZE_PY}"),
        ),
        Language::Js => {
            require("node", "Node.js", "apt-get install -y nodejs npm")?;
            require("npm", "npm", "apt-get install -y npm")?;
            if !project.root.join("node_modules").is_dir() {
                return Err(BuildError::MissingTool {
                    what: "componentize-js (the project's node_modules)".to_owned(),
                    install: format!("npm install  # in {}", project.root.display()),
                });
            }
            Ok(())
        }
    }
}

/// The componentize-py release the Python templates are made for.
pub const COMPONENTIZE_PY: &str = "0.25.1";

fn require(program: &str, what: &str, install: &str) -> Result<(), BuildError> {
    if on_path(program) {
        Ok(())
    } else {
        Err(BuildError::MissingTool {
            what: format!("{what} (`{program}` is not on PATH)"),
            install: install.to_owned(),
        })
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Builds the project; the tool's own output goes to stderr.
pub fn build(project: &Project) -> Result<Built, BuildError> {
    check(project)?;
    let plan = BuildPlan::of(project);
    let started = Instant::now();
    let (program, args) = plan
        .command
        .split_first()
        .ok_or_else(|| BuildError::Spawn {
            command: String::new(),
            reason: "[build] command is empty".to_owned(),
        })?;
    let status = Command::new(program)
        .args(args)
        .current_dir(&project.root)
        .stdin(Stdio::null())
        .stdout(to_stderr())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| BuildError::Spawn {
            command: plan.rendered(),
            reason: e.to_string(),
        })?;
    if !status.success() {
        return Err(BuildError::Failed {
            command: plan.rendered(),
            status: status.to_string(),
        });
    }
    if !plan.output.is_file() {
        return Err(BuildError::NoOutput {
            command: plan.rendered(),
            path: plan.output,
        });
    }
    Ok(Built {
        component: plan.output,
        elapsed: started.elapsed(),
    })
}

/// The child's stdout on our stderr: floe's stdout is for what it reports.
fn to_stderr() -> Stdio {
    use std::os::fd::AsFd as _;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::null(), Stdio::from)
}
