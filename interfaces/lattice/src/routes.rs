//! Ingress routes in the lattice's KV bucket (`route.{name}`), sealed JSON
//! records (`records`): `put` validates, refuses a route that matches
//! exactly what another route matches (naming that owner), and keeps the
//! time a route was first stored (the older route wins a tie);
//! `read_entry` turns a watch's entry into a change for hosts serving
//! ingress.

use async_nats::jetstream::kv;
use floe_wire::ingress::{ROUTE_KEY_PREFIX, Route, RouteError, conflict, name_of_key, route_key};

use crate::LatticeAuth;
use crate::records::{self, RecordError};

/// How many times a put retries after losing a compare-and-set.
const CAS_ATTEMPTS: u32 = 16;

#[derive(Debug, thiserror::Error)]
pub enum RouteStoreError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("route {0}")]
    Invalid(#[from] RouteError),
    #[error(
        "route {route} matches exactly what route {owner} matches (same host, path, methods and headers); change one, or delete {owner} first"
    )]
    Conflict { route: String, owner: String },
    #[error("route {0} does not exist (see `floe ingress list`)")]
    NotFound(String),
    #[error("route {0} changed {CAS_ATTEMPTS} times while this write tried to store it; try again")]
    Contended(String),
}

/// Every authentic route, by name.
pub async fn list(kv: &kv::Store, auth: &LatticeAuth) -> Result<Vec<Route>, RouteStoreError> {
    Ok(records::list::<Route>(kv, auth, ROUTE_KEY_PREFIX)
        .await?
        .into_iter()
        .map(|(_, record)| record.value)
        .collect())
}

/// Stores `route` (new, or replacing the route of that name); returns it
/// as stored.
pub async fn put(
    kv: &kv::Store,
    auth: &LatticeAuth,
    mut route: Route,
    now_ms: u64,
) -> Result<Route, RouteStoreError> {
    route.normalize()?;
    let key = route_key(&route.name);
    for _ in 0..CAS_ATTEMPTS {
        let existing = list(kv, auth).await?;
        if let Some(owner) = conflict(&route, &existing) {
            return Err(RouteStoreError::Conflict {
                route: route.name.clone(),
                owner: owner.name.clone(),
            });
        }
        let current = records::read::<Route>(kv, auth, &key).await?;
        route.created_ms = current.as_ref().map_or(now_ms, |r| r.value.created_ms);
        let written = match &current {
            Some(current) => records::update(kv, auth, &key, &route, current.revision).await?,
            // Absent, or a deleted route's tombstone (replaced at its revision).
            None => match revision_of(kv, &key).await? {
                Some(revision) => records::update(kv, auth, &key, &route, revision).await?,
                None => records::create(kv, auth, &key, &route).await?,
            },
        };
        if written.is_some() {
            return Ok(route);
        }
    }
    Err(RouteStoreError::Contended(route.name))
}

/// The revision of whatever `key` holds, if anything.
async fn revision_of(kv: &kv::Store, key: &str) -> Result<Option<u64>, RecordError> {
    let entry = kv.entry(key).await.map_err(|e| RecordError::Read {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(entry.map(|e| e.revision))
}

/// Removes route `name`: a sealed tombstone (an empty body), so a removal
/// is as authentic as a put; raw delete markers are ignored by hosts.
pub async fn delete(kv: &kv::Store, auth: &LatticeAuth, name: &str) -> Result<(), RouteStoreError> {
    let key = route_key(name);
    for _ in 0..CAS_ATTEMPTS {
        let Some(current) = records::read::<Route>(kv, auth, &key).await? else {
            return Err(RouteStoreError::NotFound(name.to_owned()));
        };
        let tombstone = auth.seal_value(&key, b"");
        match kv.update(&key, tombstone.into(), current.revision).await {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
            Err(e) => {
                return Err(RecordError::Write {
                    key,
                    reason: e.to_string(),
                }
                .into());
            }
        }
    }
    Err(RouteStoreError::Contended(name.to_owned()))
}

/// What one entry of a watch says about a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    Put(Box<Route>),
    Removed(String),
}

/// Reads one entry of a watch of `route.`; `None` for an entry that is not
/// authentic or not a valid route (the caller logs it by key), raw delete
/// markers included.
pub fn read_entry(auth: &LatticeAuth, entry: &kv::Entry) -> Option<RouteChange> {
    let name = name_of_key(&entry.key)?.to_owned();
    if entry.operation != kv::Operation::Put {
        return None;
    }
    let stored_ms = u64::try_from(entry.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let (_, body) = auth.open_value(&entry.key, &entry.value, stored_ms).ok()?;
    if body.is_empty() {
        return Some(RouteChange::Removed(name));
    }
    let mut route: Route = serde_json::from_slice(body).ok()?;
    (route.name == name && route.normalize().is_ok()).then(|| RouteChange::Put(Box::new(route)))
}
