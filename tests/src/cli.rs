//! Running the `floe` binary as a user would, with a private `$FLOE_HOME`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::paths;

/// A `floe` command line with its own temporary home directory.
#[derive(Debug)]
pub struct FloeCli {
    exe: PathBuf,
    home: TempDir,
    /// `FLOE_CLUSTER_SEED` for every run, when set.
    cluster_seed: Option<String>,
}

/// What one run of `floe` printed and how it exited.
#[derive(Debug)]
pub struct CliOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl FloeCli {
    /// A CLI runner with an empty `$FLOE_HOME`.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            exe: paths::bin("floe")?,
            home: tempfile::Builder::new().prefix("floe-home-").tempdir()?,
            cluster_seed: None,
        })
    }

    /// A CLI runner holding the cluster seed of the test lattice `lattice`
    /// (in `FLOE_CLUSTER_SEED`, as a user would export it).
    pub fn for_lattice(lattice: &str) -> anyhow::Result<Self> {
        Ok(Self {
            cluster_seed: Some(crate::seed_for(lattice)),
            ..Self::new()?
        })
    }

    /// The `$FLOE_HOME` this runner uses.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs `floe ARGS…` and captures its output. Fails the test when the
    /// process panicked: no input may make `floe` panic.
    pub fn run<I, S>(&self, args: I) -> CliOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.command();
        command.args(args);
        self.run_command(command)
    }

    /// `floe` with this runner's home and seed, for a test to add to
    /// (arguments, environment, a working directory) and run or spawn.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .env("FLOE_HOME", self.home.path())
            .env_remove("FLOE_CLUSTER_SEED")
            .env("NO_COLOR", "1");
        if let Some(seed) = &self.cluster_seed {
            command.env("FLOE_CLUSTER_SEED", seed);
        }
        command
    }

    /// Runs a prepared [`command`](Self::command) and captures its output;
    /// fails the test when it panicked.
    pub fn run_command(&self, mut command: Command) -> CliOutput {
        let output: Output = command.output().expect("the floe binary runs");
        let out = CliOutput {
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            !out.stderr.contains("panicked"),
            "floe panicked:\n{}",
            out.stderr
        );
        out
    }

    /// Runs `floe ARGS…`, requires success, and returns stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert!(out.success, "floe failed:\n{}\n{}", out.stdout, out.stderr);
        out.stdout
    }

    /// Runs `floe ARGS… -o json`, requires success, and parses stdout.
    pub fn json<I, S>(&self, args: I) -> serde_json::Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        all.extend(["-o".into(), "json".into()]);
        let stdout = self.ok(all);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
    }
}

/// Everything a spawned child writes to its stdout and stderr (piped), line
/// by line as it comes, for a test to wait on.
pub fn collect_output(
    child: &mut tokio::process::Child,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    use tokio::io::AsyncBufReadExt as _;
    let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let streams: [Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>; 2] = [
        child.stdout.take().map(|s| Box::new(s) as _),
        child.stderr.take().map(|s| Box::new(s) as _),
    ];
    for stream in streams.into_iter().flatten() {
        let said = said.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut all = said
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                all.push_str(&line);
                all.push('\n');
            }
        });
    }
    said
}
