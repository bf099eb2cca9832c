//! What `floe up` started, kept in `$FLOE_HOME/up/state.json` for `floe
//! down`, and the checks that a PID still names the process it started.

use std::path::PathBuf;

use anyhow::Context as _;
use floe_wire::FloeHome;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// What `floe up` started, for `floe down`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpState {
    pub nats_url: String,
    pub lattice: String,
    pub host_id: String,
    pub host_pid: u32,
    /// Set when `up` started the NATS server (else it was already there).
    pub nats_pid: Option<u32>,
    /// When each process started (clock ticks since boot, `/proc/PID/stat`),
    /// so a PID reused by another process is never signalled.
    #[serde(default)]
    pub host_started: Option<u64>,
    #[serde(default)]
    pub nats_started: Option<u64>,
    pub logs: PathBuf,
}

pub fn up_dir(home: &FloeHome) -> PathBuf {
    home.root().join("up")
}

pub fn state_path(home: &FloeHome) -> PathBuf {
    up_dir(home).join("state.json")
}

/// When `pid` started, in clock ticks since boot (`/proc/PID/stat` field 22).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the name: state is field 3, starttime field 22.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True while the process `up` started runs: same PID and start time.
pub fn still_ours(pid: u32, started: Option<u64>) -> bool {
    alive(pid) && started.is_none_or(|t| start_time(pid) == Some(t))
}

/// True while `pid` runs (a zombie waiting to be reaped does not count).
pub fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if kill(Pid::from_raw(raw), None).is_err() {
        return false;
    }
    // `/proc/PID/stat` is `PID (NAME) STATE …`; the name may hold spaces.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

pub fn read_state(home: &FloeHome) -> anyhow::Result<Option<UpState>> {
    let path = state_path(home);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is damaged: remove it after stopping what runs",
                path.display()
            )
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Asks `pid` to stop (SIGTERM).
pub fn terminate(pid: u32) -> nix::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| nix::errno::Errno::ESRCH)?;
    kill(Pid::from_raw(pid), Signal::SIGTERM)
}
