//! Names and prefixes to ids: actors and providers by unique name (an
//! actor also as `app/component`), hosts by
//! a unique prefix of their id, all against what the lattice reports now.
//! One rule for all of them: exactly one match, or an error that says what
//! was not found or lists the candidates.

use std::time::Duration;

use floe_wire::KeyKind;
use floe_wire::app::{APP_ANNOTATION, COMPONENT_ANNOTATION};
use floe_wire::control::HostInventory;

use crate::client::{CtlClient, CtlError};

fn is_id(text: &str, kind: KeyKind) -> bool {
    floe_wire::keys::parse_public(text, kind).is_ok()
}

/// The one id among `ids`, else why not.
fn unique<'a>(
    ids: impl IntoIterator<Item = &'a str>,
    name: &str,
    what: &'static str,
    none: impl FnOnce() -> String,
) -> Result<String, CtlError> {
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(CtlError::NotFound(none())),
        _ => Err(CtlError::Ambiguous {
            name: name.to_owned(),
            what,
            candidates: ids.join(", "),
        }),
    }
}

impl CtlClient {
    /// Turns an actor id or unique name into an id, searching the
    /// inventories of hosts that answer within `window`.
    pub async fn resolve_actor(
        &self,
        name_or_id: &str,
        window: Duration,
    ) -> Result<String, CtlError> {
        if is_id(name_or_id, KeyKind::Actor) {
            return Ok(name_or_id.to_owned());
        }
        Self::actor_in(&self.inventories_for_lookup(window).await?, name_or_id)
    }

    /// Turns an actor or provider id, or a unique actor or provider name,
    /// into an id (links name either kind of entity).
    pub async fn resolve_entity(
        &self,
        name_or_id: &str,
        window: Duration,
    ) -> Result<String, CtlError> {
        if is_id(name_or_id, KeyKind::Actor) || is_id(name_or_id, KeyKind::Provider) {
            return Ok(name_or_id.to_owned());
        }
        let inventories = self.inventories_for_lookup(window).await?;
        let actors = inventories
            .iter()
            .flat_map(|inv| &inv.actors)
            .filter(|a| a.name == name_or_id)
            .map(|a| a.actor_id.as_str());
        let providers = inventories
            .iter()
            .flat_map(|inv| &inv.providers)
            .filter(|p| p.name == name_or_id)
            .map(|p| p.provider_id.as_str());
        unique(
            actors.chain(providers),
            name_or_id,
            "actors and providers",
            || {
                if inventories.is_empty() {
                    return no_host_answered(name_or_id);
                }
                format!(
                    "no running actor or provider is named `{name_or_id}` (see `floe get inventory`)"
                )
            },
        )
    }

    /// Resolves an actor id or unique name against inventories already
    /// gathered (so a command that needs them too asks the lattice once).
    pub fn actor_in(inventories: &[HostInventory], name_or_id: &str) -> Result<String, CtlError> {
        if is_id(name_or_id, KeyKind::Actor) {
            return Ok(name_or_id.to_owned());
        }
        if let Some((app, component)) = name_or_id.split_once('/') {
            return Self::app_component_in(inventories, app, component);
        }
        let ids = inventories
            .iter()
            .flat_map(|inv| &inv.actors)
            .filter(|a| a.name == name_or_id)
            .map(|a| a.actor_id.as_str());
        unique(ids, name_or_id, "actors", || {
            if inventories.is_empty() {
                return no_host_answered(name_or_id);
            }
            format!("no running actor is named `{name_or_id}` (see `floe get inventory`)")
        })
    }

    /// The actor that app `app` runs as its component `component`.
    fn app_component_in(
        inventories: &[HostInventory],
        app: &str,
        component: &str,
    ) -> Result<String, CtlError> {
        let name = format!("{app}/{component}");
        let ids = inventories
            .iter()
            .flat_map(|inv| &inv.actors)
            .filter(|a| {
                a.annotations.get(APP_ANNOTATION).map(String::as_str) == Some(app)
                    && a.annotations.get(COMPONENT_ANNOTATION).map(String::as_str)
                        == Some(component)
            })
            .map(|a| a.actor_id.as_str());
        unique(ids, &name, "actors", || {
            if inventories.is_empty() {
                return no_host_answered(&name);
            }
            format!(
                "app {app} runs no actor as component `{component}` (see `floe app status {app}`)"
            )
        })
    }

    /// Turns a host id or a unique prefix of one into an id.
    pub async fn resolve_host(
        &self,
        id_or_prefix: &str,
        window: Duration,
    ) -> Result<String, CtlError> {
        if is_id(id_or_prefix, KeyKind::Host) {
            return Ok(id_or_prefix.to_owned());
        }
        let hosts = self.ping_hosts(window).await?;
        let ids = hosts
            .iter()
            .map(|h| h.host_id.as_str())
            .filter(|id| id.starts_with(id_or_prefix));
        unique(ids, id_or_prefix, "hosts", || {
            format!("no host's id starts with `{id_or_prefix}` (see `floe get hosts`)")
        })
    }
}

/// Why a name found nothing when no host answered at all.
fn no_host_answered(name: &str) -> String {
    format!(
        "cannot resolve `{name}`: no host answered. Is a lattice running (`floe get hosts`), \
         and does this client hold its cluster seed? Hosts ignore requests sealed under \
         another (--cluster-seed, FLOE_CLUSTER_SEED)"
    )
}
