//! The providers this host runs, by id, and what is known of each replica:
//! where it came from, its health, restarts and last output.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use floe_wire::control::{ProviderDescription, ProviderHealth, StringMap};
use tokio_util::sync::CancellationToken;

use crate::provider_source::Signed;

/// Providers by id.
#[derive(Debug, Default)]
pub struct ProviderTable {
    map: Mutex<HashMap<String, Arc<ProviderHandle>>>,
}

impl ProviderTable {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ProviderHandle>>> {
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

    pub(super) fn remove(&self, id: &str) -> Option<Arc<ProviderHandle>> {
        self.lock().remove(id)
    }

    /// Removes `handle` only if it is still the one in the table.
    pub(super) fn remove_exact(&self, handle: &Arc<ProviderHandle>) {
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
    pub(super) state: Mutex<State>,
    /// Cancelled to stop the provider.
    pub(super) stop: CancellationToken,
    /// Cancelled once the supervisor has stopped and reaped it.
    pub(super) finished: CancellationToken,
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) health: ProviderHealth,
    pub(super) restarts: u32,
    pub(super) pid: Option<u32>,
    /// The last lines the provider wrote (for start errors).
    pub(super) tail: VecDeque<String>,
}

impl ProviderHandle {
    /// A replica about to start.
    pub fn new(
        id: String,
        name: String,
        path: PathBuf,
        reference: String,
        signed: Option<Signed>,
        annotations: StringMap,
    ) -> Self {
        ProviderHandle {
            id,
            name,
            path,
            reference,
            signed,
            annotations,
            state: Mutex::new(State {
                health: ProviderHealth::Starting,
                restarts: 0,
                pid: None,
                tail: VecDeque::new(),
            }),
            stop: CancellationToken::new(),
            finished: CancellationToken::new(),
        }
    }

    /// Stops the provider and waits until its supervisor has reaped it.
    pub async fn stop(&self) {
        self.stop.cancel();
        self.finished.cancelled().await;
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
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

    pub(super) fn tail(&self) -> String {
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
