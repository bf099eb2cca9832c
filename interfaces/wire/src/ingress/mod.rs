//! Ingress (docs/ingress.md): routes from host names and paths to actors,
//! served by hosts started with `--ingress`.
//!
//! - `route`: one [`Route`], its validation and KV key.
//! - `table`: [`RouteTable`], routes compiled for matching by Gateway API
//!   HTTPRoute precedence.

mod route;
mod table;

pub use route::{
    Canary, MAX_NAME_LEN, MAX_TIMEOUT_MS, PathKind, ROUTE_KEY_PREFIX, Route, RouteError,
    name_of_key, route_key,
};
pub use table::{HostMatch, Request, RouteTable, normal_host};

/// Refuses `route` when a route of another name already matches exactly
/// what it matches; names that owner.
pub fn conflict<'a>(
    route: &Route,
    existing: impl IntoIterator<Item = &'a Route>,
) -> Option<&'a Route> {
    let keys = route.match_keys();
    existing
        .into_iter()
        .filter(|other| other.name != route.name)
        .find(|other| other.match_keys().iter().any(|k| keys.contains(k)))
}

#[cfg(test)]
mod tests;
