//! The providers this host runs (DESIGN.md "Providers"): each is a child
//! process started with an empty environment and its host data on stdin,
//! watched by a supervisor task that checks its health, starts it again with
//! backoff when it exits, and stops it cleanly — a shutdown request, then
//! SIGTERM, then SIGKILL — reaping it in every case.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use floe_lattice::Requester;
use floe_wire::control::{
    ControlReply, Empty, ProviderDescription, ProviderHealth, ProviderStarted,
    StartProviderRequest, StopProviderRequest, StringMap,
};
use floe_wire::provider::{HOST_DATA_VERSION, HealthReport, HostData};
use floe_wire::subject::ProviderOp;
use floe_wire::{EventType, Subject};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::host::HostCore;
use crate::provider_source::Signed;

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

/// Providers by id.
#[derive(Debug, Default)]
pub struct ProviderTable {
    map: Mutex<HashMap<String, Arc<ProviderHandle>>>,
}

impl ProviderTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ProviderHandle>>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get(&self, id: &str) -> Option<Arc<ProviderHandle>> {
        self.lock().get(id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<ProviderHandle>> {
        let mut all: Vec<_> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn remove(&self, id: &str) -> Option<Arc<ProviderHandle>> {
        self.lock().remove(id)
    }

    /// Removes `handle` only if it is still the one in the table.
    fn remove_exact(&self, handle: &Arc<ProviderHandle>) {
        let mut map = self.lock();
        if map.get(&handle.id).is_some_and(|h| Arc::ptr_eq(h, handle)) {
            map.remove(&handle.id);
        }
    }
}

/// One provider replica and its supervisor.
#[derive(Debug)]
pub struct ProviderHandle {
    pub id: String,
    pub name: String,
    /// The executable it runs.
    pub path: PathBuf,
    /// What the start request named (an archive, or the executable).
    pub reference: String,
    /// Its archive's verified claims, when it came from one.
    pub signed: Option<Signed>,
    pub annotations: StringMap,
    state: Mutex<State>,
    /// Cancelled to stop the provider.
    stop: CancellationToken,
    /// Cancelled once the supervisor has stopped and reaped it.
    finished: CancellationToken,
}

#[derive(Debug)]
struct State {
    health: ProviderHealth,
    restarts: u32,
    pid: Option<u32>,
    /// The last lines the provider wrote (for start errors).
    tail: VecDeque<String>,
}

impl ProviderHandle {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn describe(&self) -> ProviderDescription {
        let state = self.state();
        ProviderDescription {
            provider_id: self.id.clone(),
            name: self.name.clone(),
            reference: self.reference.clone(),
            claims: self.signed.as_ref().map(|s| s.claims.clone()),
            target: self.signed.as_ref().map(|s| s.target.clone()),
            health: state.health,
            restarts: state.restarts,
            pid: state.pid,
            annotations: self.annotations.clone(),
        }
    }

    fn tail(&self) -> String {
        let state = self.state();
        if state.tail.is_empty() {
            return "it wrote nothing".to_owned();
        }
        format!(
            "its last output:\n{}",
            state.tail.iter().cloned().collect::<Vec<_>>().join("\n")
        )
    }
}

/// Starts a provider; the reply comes once it answers a health check, or
/// with the reason it never did.
pub async fn start(
    core: &Arc<HostCore>,
    req: StartProviderRequest,
) -> Result<ProviderStarted, String> {
    let source = crate::provider_source::prepare(core, &req).await?;
    let (issuer, version) = match &source.signed {
        Some(signed) => (
            Some(signed.claims.iss.clone()),
            Some(signed.claims.floe.version.clone()),
        ),
        None => (None, None),
    };
    let id = source.id.clone();
    let name = source.name.clone();
    let already_running = || ProviderStarted {
        provider_id: id.clone(),
        name: name.clone(),
        issuer: issuer.clone(),
        version: version.clone(),
        host_id: core.id.clone(),
        already_running: true,
    };
    if core.providers.get(&id).is_some() {
        return Ok(already_running());
    }
    if core.shutdown.is_cancelled() {
        return Err("this host is stopping".to_owned());
    }
    let handle = Arc::new(ProviderHandle {
        id: id.clone(),
        name: name.clone(),
        path: source.path,
        reference: req.reference.clone(),
        signed: source.signed,
        annotations: req.annotations.clone(),
        state: Mutex::new(State {
            health: ProviderHealth::Starting,
            restarts: 0,
            pid: None,
            tail: VecDeque::new(),
        }),
        stop: CancellationToken::new(),
        finished: CancellationToken::new(),
    });
    {
        let mut map = core.providers.lock();
        if map.contains_key(&id) {
            drop(map);
            return Ok(already_running());
        }
        map.insert(id.clone(), handle.clone());
    }
    let data = host_data(core, &handle, req.config);
    let (ready_tx, ready_rx) = oneshot::channel();
    core.tracker
        .spawn(supervise(core.clone(), handle.clone(), data, ready_tx));
    let outcome = ready_rx
        .await
        .unwrap_or_else(|_| Err("the provider's supervisor ended".to_owned()));
    match outcome {
        Ok(()) => {
            let started = ProviderStarted {
                already_running: false,
                ..already_running()
            };
            core.publish(EventType::ProviderStarted, &started).await;
            Ok(started)
        }
        Err(reason) => {
            core.providers.remove_exact(&handle);
            handle.stop.cancel();
            handle.finished.cancelled().await;
            core.publish(
                EventType::ProviderStartFailed,
                &json!({ "provider_id": id, "name": name, "host_id": core.id, "error": reason }),
            )
            .await;
            Err(reason)
        }
    }
}

/// Stops a provider and waits until it is reaped.
pub async fn stop(core: &Arc<HostCore>, req: StopProviderRequest) -> Result<Empty, String> {
    let handle = core.providers.remove(&req.provider_id).ok_or_else(|| {
        format!(
            "provider {} does not run on this host (see `floe get inventory`)",
            req.provider_id
        )
    })?;
    stop_handle(core, &handle).await;
    Ok(Empty {})
}

/// Stops every provider (the host is stopping).
pub async fn stop_all(core: &Arc<HostCore>) {
    let all = core.providers.all();
    let stops = all.iter().map(|h| {
        core.providers.remove(&h.id);
        stop_handle(core, h)
    });
    futures::future::join_all(stops).await;
}

async fn stop_handle(core: &Arc<HostCore>, handle: &Arc<ProviderHandle>) {
    handle.stop.cancel();
    handle.finished.cancelled().await;
    core.publish(
        EventType::ProviderStopped,
        &json!({ "provider_id": handle.id, "name": handle.name, "host_id": core.id }),
    )
    .await;
}

fn host_data(core: &HostCore, handle: &ProviderHandle, config: StringMap) -> HostData {
    HostData {
        v: HOST_DATA_VERSION,
        lattice: core.lattice.to_string(),
        host_id: core.id.clone(),
        provider_id: handle.id.clone(),
        name: handle.name.clone(),
        nats_url: core.config.nats_url.clone(),
        nats_creds: core.config.creds.as_ref().map(|p| p.display().to_string()),
        lattice_keys: core.auth.key_data(),
        auth_window_ms: millis(core.config.auth_window),
        auth_skew_ms: millis(core.config.auth_skew),
        config,
        annotations: handle.annotations.clone(),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs the provider until it is stopped, starting it again when it exits.
/// `ready` learns whether the first start became healthy.
async fn supervise(
    core: Arc<HostCore>,
    handle: Arc<ProviderHandle>,
    data: HostData,
    ready: oneshot::Sender<Result<(), String>>,
) {
    let mut ready = Some(ready);
    let mut backoff = BACKOFF_FIRST;
    let requester = Requester::new(core.nats.clone(), core.auth.clone());
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
        core.publish(
            EventType::ProviderRestarted,
            &json!({ "provider_id": handle.id, "name": handle.name, "host_id": core.id, "restarts": restarts }),
        )
        .await;
    }
    handle.finished.cancel();
}

enum Exit {
    /// Stopped on request, and reaped.
    Stopped,
    /// Exited (or never became healthy), and reaped.
    Failed(String),
}

async fn run_once(
    core: &Arc<HostCore>,
    handle: &Arc<ProviderHandle>,
    data: &HostData,
    requester: &Requester,
    ready: &mut Option<oneshot::Sender<Result<(), String>>>,
) -> Exit {
    let (mut child, output) = match spawn(handle, data).await {
        Ok(spawned) => spawned,
        Err(reason) => return Exit::Failed(reason),
    };
    handle.state().pid = child.id();
    let started = Instant::now();
    let mut healthy_once = false;
    loop {
        let wait = if healthy_once {
            core.config.provider_health_interval
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
                return Exit::Failed(format!(
                    "provider {} exited ({status}); {}",
                    handle.name,
                    handle.tail()
                ));
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
            && started.elapsed() > core.config.provider_start_timeout
            // One that exited meanwhile is reported as such, with its output.
            && matches!(child.try_wait(), Ok(None))
        {
            stop_child(core, handle, requester, &mut child).await;
            return Exit::Failed(format!(
                "provider {} did not answer a health check within {:?}; {}",
                handle.name,
                core.config.provider_start_timeout,
                handle.tail()
            ));
        }
        if healthy_once || health != ProviderHealth::Unhealthy {
            set_health(core, handle, health).await;
        }
    }
}

/// Starts the process, writes its host data and forwards its output to the
/// host log; returns it with the tasks reading its output.
async fn spawn(
    handle: &Arc<ProviderHandle>,
    data: &HostData,
) -> Result<(Child, Vec<tokio::task::JoinHandle<()>>), String> {
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
            Err(e) => return Err(format!("cannot start {}: {e}", handle.path.display())),
        }
    };
    let body = serde_json::to_vec(data).map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // On a task of its own: a provider that never reads its stdin must
        // not hold up its supervisor (or a stop). One that exits at once
        // closes it: not an error here, its exit is reported instead.
        tokio::spawn(async move {
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
        readers.push(tokio::spawn(async move {
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
        }));
    }
    Ok((child, readers))
}

async fn check_health(
    core: &HostCore,
    handle: &ProviderHandle,
    requester: &Requester,
    timeout: Duration,
) -> ProviderHealth {
    let subject = Subject::Provider {
        provider: handle.id.clone(),
        host: core.id.clone(),
        op: ProviderOp::Health,
    }
    .render(&core.lattice);
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

async fn set_health(core: &HostCore, handle: &ProviderHandle, health: ProviderHealth) {
    let changed = {
        let mut state = handle.state();
        let changed = state.health != health;
        state.health = health;
        changed
    };
    if changed {
        core.publish(
            EventType::ProviderHealthChanged,
            &json!({ "provider_id": handle.id, "name": handle.name, "host_id": core.id, "health": health }),
        )
        .await;
    }
}

/// Asks the provider to shut down, then SIGTERM, then SIGKILL; reaps it.
async fn stop_child(
    core: &HostCore,
    handle: &ProviderHandle,
    requester: &Requester,
    child: &mut Child,
) {
    let grace = core.config.provider_shutdown_grace;
    let subject = Subject::Provider {
        provider: handle.id.clone(),
        host: core.id.clone(),
        op: ProviderOp::Shutdown,
    }
    .render(&core.lattice);
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
