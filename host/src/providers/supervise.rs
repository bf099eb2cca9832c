//! The supervisor of one provider replica: starts the child process with
//! an empty environment and its host data on stdin, forwards its output to
//! the host log, checks its health, starts it again with backoff when it
//! exits, and stops it cleanly — a shutdown request, then SIGTERM, then
//! SIGKILL — reaping it in every case.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_lattice::Requester;
use floe_wire::control::{ControlReply, ProviderHealth, StringMap};
use floe_wire::provider::{HOST_DATA_VERSION, HealthReport, HostData, ProviderSecrets};
use floe_wire::subject::ProviderOp;
use floe_wire::{EventType, Subject};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use super::table::ProviderHandle;
use crate::bus::Bus;
use crate::provider_source::SourceError;
use crate::tasks::Tasks;

/// The longest line of a provider's output kept (the rest of a longer one
/// reads as the next line).
const MAX_LINE: u64 = 4096;
/// Lines of a provider's output kept for error messages.
const TAIL_LINES: usize = 20;
/// The first and the longest wait before starting an exited provider again.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A provider that ran this long before exiting starts again without delay.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// `errno` for "text file busy".
const ETXTBSY: i32 = 26;
/// Health checks while a provider starts, until it first answers.
const STARTING_POLL: Duration = Duration::from_millis(100);

/// How this host runs providers.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// What providers connect to (their host data).
    pub nats_url: String,
    pub creds: Option<PathBuf>,
    pub auth_window: Duration,
    pub auth_skew: Duration,
    /// Health checks of a running provider.
    pub health_interval: Duration,
    /// How long a start waits for the first healthy answer.
    pub start_timeout: Duration,
    /// Each step of a stop (request, SIGTERM) waits this long.
    pub shutdown_grace: Duration,
}

/// What every supervisor takes.
#[derive(Debug, Clone)]
pub struct Supervisor {
    pub bus: Bus,
    pub tasks: Tasks,
    pub settings: ProviderSettings,
}

/// Why a run of a provider ended (before it was healthy: why its start
/// failed).
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    #[error("provider {name} exited ({status}); {tail}")]
    Exited {
        name: String,
        status: String,
        tail: String,
    },
    #[error("provider {name} did not answer a health check within {waited:?}; {tail}")]
    NeverHealthy {
        name: String,
        waited: Duration,
        tail: String,
    },
    #[error("cannot start {path}: {reason}")]
    Spawn { path: String, reason: String },
    #[error(transparent)]
    Changed(#[from] SourceError),
    #[error("cannot write the provider's host data: {0}")]
    HostData(String),
    #[error("the provider's supervisor ended")]
    SupervisorEnded,
}

/// Whether the first run of a provider became healthy.
pub type StartOutcome = Result<(), RunFailure>;

impl Supervisor {
    /// What the provider reads on its stdin.
    pub fn host_data(
        &self,
        handle: &ProviderHandle,
        config: StringMap,
        secrets: ProviderSecrets,
    ) -> HostData {
        HostData {
            v: HOST_DATA_VERSION,
            lattice: self.bus.lattice().to_string(),
            host_id: self.bus.host_id().to_owned(),
            provider_id: handle.id.clone(),
            name: handle.name.clone(),
            nats_url: self.settings.nats_url.clone(),
            nats_creds: self
                .settings
                .creds
                .as_ref()
                .map(|p| p.display().to_string()),
            lattice_keys: self.bus.auth().key_data(),
            auth_window_ms: millis(self.settings.auth_window),
            auth_skew_ms: millis(self.settings.auth_skew),
            config,
            annotations: handle.annotations.clone(),
            secrets,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs the provider until it is stopped, starting it again when it exits.
/// `ready` learns whether the first start became healthy.
pub async fn supervise(
    core: Supervisor,
    handle: Arc<ProviderHandle>,
    data: HostData,
    ready: oneshot::Sender<StartOutcome>,
) {
    let mut ready = Some(ready);
    let mut backoff = BACKOFF_FIRST;
    let requester = Requester::new(core.bus.nats().clone(), core.bus.auth().clone());
    loop {
        let started = Instant::now();
        let outcome = run_once(&core, &handle, &data, &requester, &mut ready).await;
        handle.state().pid = None;
        match outcome {
            Exit::Stopped => break,
            Exit::Failed(reason) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(reason));
                    break;
                }
                tracing::warn!(provider = %handle.name, "{reason}");
            }
        }
        set_health(&core, &handle, ProviderHealth::Restarting).await;
        if started.elapsed() > STABLE_AFTER {
            backoff = BACKOFF_FIRST;
        }
        tokio::select! {
            _ = handle.stop.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
        let restarts = {
            let mut state = handle.state();
            state.restarts += 1;
            state.restarts
        };
        tracing::info!(provider = %handle.name, restarts, "starting the provider again");
        core.bus
            .publish(
                EventType::ProviderRestarted,
                &json!({ "provider_id": handle.id, "name": handle.name, "host_id": core.bus.host_id(), "restarts": restarts }),
            )
            .await;
    }
    handle.finished.cancel();
}

enum Exit {
    /// Stopped on request, and reaped.
    Stopped,
    /// Exited (or never became healthy), and reaped.
    Failed(RunFailure),
}

async fn run_once(
    core: &Supervisor,
    handle: &Arc<ProviderHandle>,
    data: &HostData,
    requester: &Requester,
    ready: &mut Option<oneshot::Sender<StartOutcome>>,
) -> Exit {
    let (mut child, output) = match spawn(&core.tasks, handle, data).await {
        Ok(spawned) => spawned,
        Err(reason) => return Exit::Failed(reason),
    };
    handle.state().pid = child.id();
    let started = Instant::now();
    let mut healthy_once = false;
    loop {
        let wait = if healthy_once {
            core.settings.health_interval
        } else {
            STARTING_POLL
        };
        tokio::select! {
            status = child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                // Its last words explain the exit: let the readers reach EOF.
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    futures::future::join_all(output),
                )
                .await;
                return Exit::Failed(RunFailure::Exited {
                    name: handle.name.clone(),
                    status,
                    tail: handle.tail(),
                });
            }
            _ = handle.stop.cancelled() => {
                stop_child(core, handle, requester, &mut child).await;
                return Exit::Stopped;
            }
            _ = tokio::time::sleep(wait) => {}
        }
        let health = check_health(core, handle, requester, wait.max(Duration::from_secs(1))).await;
        if health == ProviderHealth::Healthy && !healthy_once {
            healthy_once = true;
            if let Some(ready) = ready.take() {
                let _ = ready.send(Ok(()));
            }
        }
        if !healthy_once
            && ready.is_some()
            && started.elapsed() > core.settings.start_timeout
            // One that exited meanwhile is reported as such, with its output.
            && matches!(child.try_wait(), Ok(None))
        {
            stop_child(core, handle, requester, &mut child).await;
            return Exit::Failed(RunFailure::NeverHealthy {
                name: handle.name.clone(),
                waited: core.settings.start_timeout,
                tail: handle.tail(),
            });
        }
        if healthy_once || health != ProviderHealth::Unhealthy {
            set_health(core, handle, health).await;
        }
    }
}

/// Starts the process, writes its host data and forwards its output to the
/// host log; returns it with the tasks reading its output.
async fn spawn(
    tasks: &Tasks,
    handle: &Arc<ProviderHandle>,
    data: &HostData,
) -> Result<(Child, Vec<tokio::task::JoinHandle<()>>), RunFailure> {
    if let Some(signed) = &handle.signed {
        // Every (re)start runs only the bytes the archive signed.
        crate::provider_source::check_installed(&handle.path, signed).await?;
    }
    let mut attempts = 0;
    let mut child = loop {
        let spawned = Command::new(&handle.path)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Ok(child) => break child,
            // A binary just installed may still be open for writing in a
            // child forked meanwhile, until that child's exec: try again.
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && attempts < 10 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                return Err(RunFailure::Spawn {
                    path: handle.path.display().to_string(),
                    reason: e.to_string(),
                });
            }
        }
    };
    // It may hold secrets: wiped once written.
    let body = zeroize::Zeroizing::new(
        serde_json::to_vec(data).map_err(|e| RunFailure::HostData(e.to_string()))?,
    );
    if let Some(mut stdin) = child.stdin.take() {
        // On a task of its own: a provider that never reads its stdin must
        // not hold up its supervisor (or a stop). One that exits at once
        // closes it: not an error here, its exit is reported instead.
        tasks.spawn(async move {
            let write = async {
                let _ = stdin.write_all(&body).await;
                let _ = stdin.shutdown().await;
            };
            let _ = tokio::time::timeout(Duration::from_secs(10), write).await;
        });
    }
    let mut readers = Vec::new();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    ]
    .into_iter()
    .flatten()
    {
        let handle = handle.clone();
        readers.push(tasks.spawn(async move {
            // Until the pipe closes; a pipe some child of the provider still
            // holds ends a second after the provider was reaped, so it never
            // holds up a stop.
            let reaped = async {
                handle.finished.cancelled().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            };
            tokio::select! {
                () = forward_output(&handle, stream) => {}
                () = reaped => {}
            }
        }));
    }
    Ok((child, readers))
}

/// Forwards a provider's output to the host log, keeping its last lines.
async fn forward_output(
    handle: &ProviderHandle,
    stream: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
) {
    let mut reader = tokio::io::BufReader::new(stream);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        // Bytes, not text: invalid UTF-8 must not end the reading
        // (the pipe would fill and block the provider).
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut raw)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
        tracing::info!(provider = %handle.name, "{line}");
        let mut state = handle.state();
        if state.tail.len() == TAIL_LINES {
            state.tail.pop_front();
        }
        state.tail.push_back(line);
    }
}

async fn check_health(
    core: &Supervisor,
    handle: &ProviderHandle,
    requester: &Requester,
    timeout: Duration,
) -> ProviderHealth {
    let subject = core.bus.subject(&Subject::Provider {
        provider: handle.id.clone(),
        host: core.bus.host_id().to_owned(),
        op: ProviderOp::Health,
    });
    let Ok(reply) = requester
        .request(subject, b"{}".to_vec().into(), timeout)
        .await
    else {
        return ProviderHealth::Unhealthy;
    };
    match floe_wire::control::parse::<ControlReply<HealthReport>>(&reply.payload)
        .ok()
        .and_then(|r| r.into_result().ok())
    {
        Some(report) if report.healthy => ProviderHealth::Healthy,
        _ => ProviderHealth::Unhealthy,
    }
}

async fn set_health(core: &Supervisor, handle: &ProviderHandle, health: ProviderHealth) {
    let changed = {
        let mut state = handle.state();
        let changed = state.health != health;
        state.health = health;
        changed
    };
    if changed {
        core.bus
            .publish(
                EventType::ProviderHealthChanged,
                &json!({ "provider_id": handle.id, "name": handle.name, "host_id": core.bus.host_id(), "health": health }),
            )
            .await;
    }
}

/// Asks the provider to shut down, then SIGTERM, then SIGKILL; reaps it.
async fn stop_child(
    core: &Supervisor,
    handle: &ProviderHandle,
    requester: &Requester,
    child: &mut Child,
) {
    let grace = core.settings.shutdown_grace;
    let subject = core.bus.subject(&Subject::Provider {
        provider: handle.id.clone(),
        host: core.bus.host_id().to_owned(),
        op: ProviderOp::Shutdown,
    });
    let _ = requester
        .request(
            subject,
            b"{}".to_vec().into(),
            grace.min(Duration::from_secs(1)),
        )
        .await;
    if tokio::time::timeout(grace, child.wait()).await.is_ok() {
        return;
    }
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
    }
    tracing::warn!(provider = %handle.name, "did not stop after SIGTERM: killing it");
    let _ = child.kill().await;
}
