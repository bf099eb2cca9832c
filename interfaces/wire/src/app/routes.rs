//! An app's ingress routes (the manifest's `routes:`, docs/apps.md): the
//! same fields as `floe ingress put`, with targets named by component.
//! [`RouteSpec::to_route`] turns one into the route the reconciler stores,
//! once each component it names runs; validation checks each through the
//! same rules as any route, and names the field at fault
//! (`routes[0].canary[1].weight`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::AppManifest;
use super::manifest::{ComponentKind, ManifestError};
use super::records::APP_ANNOTATION;
use crate::control::StringMap;
use crate::ingress::{Canary, PathKind, Route, conflict};

/// One route of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RouteSpec {
    /// The route's name in the lattice (unique among all routes).
    pub name: String,
    /// Host names, exact or `*.suffix` (none: any host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// A segment-aware prefix, unless `exact`.
    #[serde(default = "root")]
    pub path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub headers: StringMap,
    /// The actor component that answers.
    pub target: String,
    /// Other actor components, each answering a percentage of requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canary: Vec<CanarySpec>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strip_prefix: bool,
    /// How long a request may take (`30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The secret holding the certificate and key for `hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub https_redirect: bool,
}

/// A canary of an app's route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySpec {
    /// The actor component.
    pub target: String,
    /// Its percentage of the requests.
    pub weight: u32,
}

fn root() -> String {
    "/".to_owned()
}

impl RouteSpec {
    /// The route app `app` stores for this spec, with each component's
    /// actor id from `id_of`; `None` while a component has none (it does
    /// not run yet).
    pub fn to_route(&self, app: &str, id_of: impl Fn(&str) -> Option<String>) -> Option<Route> {
        let mut canary = Vec::with_capacity(self.canary.len());
        for c in &self.canary {
            canary.push(Canary {
                target: id_of(&c.target)?,
                weight: c.weight,
            });
        }
        let timeout_ms = self
            .timeout
            .as_deref()
            .and_then(|t| crate::duration::parse_flag_duration(t).ok())
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Some(Route {
            name: self.name.clone(),
            hosts: self.hosts.clone(),
            path: self.path.clone(),
            path_kind: if self.exact {
                PathKind::Exact
            } else {
                PathKind::Prefix
            },
            methods: self.methods.clone(),
            headers: self.headers.clone(),
            target: id_of(&self.target)?,
            canary,
            strip_prefix: self.strip_prefix,
            timeout_ms,
            tls: self.tls.clone(),
            https_redirect: self.https_redirect,
            created_ms: 0,
            annotations: [(APP_ANNOTATION.to_owned(), app.to_owned())].into(),
        })
    }

    /// The components it sends to.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.target.as_str()).chain(self.canary.iter().map(|c| c.target.as_str()))
    }
}

fn err(field: String, reason: impl Into<String>) -> ManifestError {
    ManifestError {
        field,
        reason: reason.into(),
    }
}

/// Checks `app.routes`: targets that are actor components of the app, each
/// route valid by the rules of any route, names unique, no two of them
/// matching the same requests.
pub(super) fn validate(app: &AppManifest) -> Result<(), ManifestError> {
    let actors: Vec<&str> = app
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Actor)
        .map(|c| c.name.as_str())
        .collect();
    // A stand-in actor id per component, for the checks of any route.
    let stand_in = |name: &str| {
        actors
            .iter()
            .position(|a| *a == name)
            .map(|i| format!("M{i:0>55}"))
    };
    let mut names = BTreeSet::new();
    let mut checked: Vec<Route> = Vec::new();
    for (i, spec) in app.routes.iter().enumerate() {
        let at = format!("routes[{i}]");
        for (field, target) in std::iter::once(("target".to_owned(), spec.target.as_str())).chain(
            spec.canary
                .iter()
                .enumerate()
                .map(|(j, c)| (format!("canary[{j}].target"), c.target.as_str())),
        ) {
            if stand_in(target).is_none() {
                return Err(err(
                    format!("{at}.{field}"),
                    format!(
                        "`{target}` is not an actor component of this app (its actors: {})",
                        actors.join(", ")
                    ),
                ));
            }
        }
        if let Some(timeout) = &spec.timeout
            && crate::duration::parse_flag_duration(timeout).is_err()
        {
            return Err(err(
                format!("{at}.timeout"),
                format!("`{timeout}` is not a duration such as 30s or 2m"),
            ));
        }
        let Some(mut route) = spec.to_route(&app.name, stand_in) else {
            continue; // every target was found above
        };
        route
            .normalize()
            .map_err(|e| err(format!("{at}.{}", e.field), e.reason))?;
        if !names.insert(route.name.clone()) {
            return Err(err(
                format!("{at}.name"),
                format!("a second route named `{}`", route.name),
            ));
        }
        if let Some(owner) = conflict(&route, &checked) {
            return Err(err(
                at,
                format!(
                    "matches exactly what route `{}` matches (same hosts, path, methods and headers)",
                    owner.name
                ),
            ));
        }
        checked.push(route);
    }
    Ok(())
}
