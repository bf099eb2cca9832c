//! An app's ingress routes: each route of the manifest is stored with its
//! components' actor ids once they run, rewritten when it differs from
//! what is stored, and removed when the manifest drops it or the app goes.
//! A route of the same name that the app does not own (stored with
//! `floe ingress put`, or another app's) is left alone and reported.

use std::collections::BTreeSet;

use floe_wire::app::{APP_ANNOTATION, AppVersion};
use floe_wire::ingress::Route;

use super::{Action, HostView, Plan, owned_by, running_replicas};

/// Adds to `plan` what brings the stored `routes` to what `version` asks.
pub fn plan_routes(version: &AppVersion, hosts: &[HostView], routes: &[Route], plan: &mut Plan) {
    let app = &version.manifest;
    let id_of = |name: &str| {
        let component = app.component(name)?;
        running_replicas(hosts, &app.name, component)
            .into_iter()
            .next()
    };
    // Stale routes go first: a renamed route may match what its old name
    // matched, and would conflict with it until it is gone.
    let wanted: BTreeSet<&str> = app.routes.iter().map(|r| r.name.as_str()).collect();
    for route in routes {
        if owned_by(&route.annotations, &app.name, None) && !wanted.contains(route.name.as_str()) {
            plan.actions.push(Action::DeleteRoute {
                name: route.name.clone(),
            });
        }
    }
    for spec in &app.routes {
        let stored = routes.iter().find(|r| r.name == spec.name);
        if let Some(other) = stored
            && !owned_by(&other.annotations, &app.name, None)
        {
            let owner = other
                .annotations
                .get(APP_ANNOTATION)
                .map_or_else(|| "`floe ingress put`".to_owned(), |a| format!("app {a}"));
            plan.impossible.push(format!(
                "route {}: a route of that name was stored by {owner}; rename the app's route or delete that one",
                spec.name
            ));
            continue;
        }
        let Some(mut route) = spec.to_route(&app.name, id_of) else {
            plan.missing.push(format!(
                "route {}: waits for {} to run",
                spec.name,
                spec.components().collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        if let Err(e) = route.normalize() {
            plan.impossible.push(format!("route {}: {e}", spec.name));
            continue;
        }
        let same = stored.is_some_and(|s| {
            route.created_ms = s.created_ms;
            *s == route
        });
        if !same {
            plan.missing.push(format!("route {}", spec.name));
            plan.actions.push(Action::PutRoute(route));
        }
    }
}

/// Deletes every route app `app` owns.
pub fn route_removal(app: &str, routes: &[Route]) -> Vec<Action> {
    routes
        .iter()
        .filter(|r| owned_by(&r.annotations, app, None))
        .map(|r| Action::DeleteRoute {
            name: r.name.clone(),
        })
        .collect()
}

/// The apps that own a stored route.
pub fn route_owners(routes: &[Route]) -> BTreeSet<String> {
    routes
        .iter()
        .filter_map(|r| r.annotations.get(APP_ANNOTATION).cloned())
        .collect()
}
