//! The application manifest (docs/apps.md): a name and version, components
//! (an actor or a provider from an artifact reference, its config and
//! placement), and links between components. Parsed with unknown fields
//! refused; [`AppManifest::validate`] checks what serde cannot and names the
//! field at fault (`components[1].placement.spread[0].weight`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::artifact::ArtifactRef;
use crate::control::StringMap;

/// A whole application, as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AppManifest {
    /// 1 to 63 of `[a-z0-9-]`, starting with a letter or digit.
    pub name: String,
    /// The release, free-form (usually semver).
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub components: Vec<Component>,
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    /// Ingress routes to the app's actors, kept by the reconciler.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<super::RouteSpec>,
}

/// One actor or provider of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Component {
    /// Unique in the app; links name components by it.
    pub name: String,
    pub kind: ComponentKind,
    /// `floe://sha256:…`, `floe://NAME:TAG`, or an absolute path present on
    /// every host that may run it.
    pub image: String,
    /// An actor's `wasi:config`, or a provider's config.
    #[serde(default)]
    pub config: StringMap,
    /// Secrets an actor reads as config: `wasi:config` key → secret name
    /// (`floe secret put`; the secret's allow-list must name the actor).
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub secrets: StringMap,
    /// Instances of an actor that may run at once on each host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// An actor's replicas go dormant after this long without calls
    /// (`30s`, `5m`; `never` keeps them active). Default: each host's
    /// `--idle-after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_after: Option<String>,
    /// An actor's replicas start dormant: checked and compiled into each
    /// host's compile cache, loaded into memory by their first call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dormant: bool,
    #[serde(default)]
    pub placement: Placement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    Actor,
    Provider,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Actor => "actor",
            ComponentKind::Provider => "provider",
        }
    }
}

/// Where a component runs. A replica is one host running it: `replicas`
/// hosts spread over label groups by weight, or, with `daemon`, every host
/// whose labels match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Placement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Instead of `replicas`: as many replicas as the load needs, between
    /// `min` and `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// With `replicas`: groups of hosts by label, each with a weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spread: Vec<Spread>,
    /// One on every host whose labels match `requirements`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub daemon: bool,
    /// Labels every host running it must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requirements: StringMap,
}

impl Default for Placement {
    fn default() -> Self {
        Self {
            replicas: Some(1),
            autoscale: None,
            spread: Vec::new(),
            daemon: false,
            requirements: StringMap::new(),
        }
    }
}

/// Replicas that follow load, like Kubernetes' HPA: the reconciler's leader
/// wants `ceil(calls in flight / target-in-flight)` replicas (one more while
/// calls are answered `busy`), never below `min` or above `max` or the
/// hosts that match; it adds replicas at once and removes them only after
/// the load has stayed low for `scale-down-after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
    /// Calls in flight per replica to aim at (averaged over a heartbeat).
    #[serde(default = "default_target_in_flight")]
    pub target_in_flight: u32,
    /// How long the load must stay low before replicas go (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_after: Option<String>,
}

fn default_target_in_flight() -> u32 {
    10
}

/// How long load must stay low before an autoscaled component shrinks.
pub const DEFAULT_SCALE_DOWN_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

impl Autoscale {
    /// `scale-down-after` as a duration (a validated manifest parses).
    pub fn scale_down_after(&self) -> std::time::Duration {
        self.scale_down_after
            .as_deref()
            .and_then(|text| crate::duration::parse_flag_duration(text).ok())
            .unwrap_or(DEFAULT_SCALE_DOWN_AFTER)
    }

    fn validate(&self, at: &str) -> Result<(), ManifestError> {
        if self.min == 0 {
            return Err(err(
                format!("{at}.min"),
                "must be at least 1 (an idle replica costs little: it goes dormant)",
            ));
        }
        if self.min > self.max {
            return Err(err(
                format!("{at}.max"),
                format!("must be at least min ({} > {})", self.min, self.max),
            ));
        }
        if self.target_in_flight == 0 {
            return Err(err(format!("{at}.target-in-flight"), "must be at least 1"));
        }
        if let Some(text) = &self.scale_down_after {
            crate::duration::parse_flag_duration(text)
                .map_err(|e| err(format!("{at}.scale-down-after"), e.to_string()))?;
        }
        Ok(())
    }
}

/// A group of hosts (those with these labels) and its share of replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spread {
    #[serde(default)]
    pub requirements: StringMap,
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// A link between two components of the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LinkSpec {
    /// The component whose imports are routed.
    pub source: String,
    /// The component that answers them.
    pub target: String,
    /// `ns:pkg/iface`, all of one package.
    pub interfaces: Vec<String>,
    #[serde(default = "default_link_name")]
    pub link_name: String,
    #[serde(default)]
    pub source_config: StringMap,
    #[serde(default)]
    pub target_config: StringMap,
}

fn default_link_name() -> String {
    crate::link::DEFAULT_LINK_NAME.to_owned()
}

/// A manifest that cannot be applied: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ManifestError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError {
        field: field.into(),
        reason: reason.into(),
    }
}

impl LinkSpec {
    /// The WIT package (`ns:pkg`) and interface names the link covers, by
    /// the same rules as `floe link put`.
    pub fn package_and_interfaces(&self) -> Result<(String, Vec<String>), crate::link::LinkError> {
        crate::link::parse_interfaces(&self.interfaces.join(","))
    }
}

impl AppManifest {
    /// Checks everything serde cannot; the first fault found, by field.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !super::valid_app_name(&self.name) {
            return Err(err(
                "name",
                format!(
                    "`{}` is not an app name: 1 to 63 of a-z, 0-9 and `-`, starting with a letter or digit",
                    self.name
                ),
            ));
        }
        if self.version.trim().is_empty() {
            return Err(err("version", "must not be empty"));
        }
        if self.components.is_empty() {
            return Err(err("components", "an app needs at least one component"));
        }
        let mut names = BTreeSet::new();
        for (i, component) in self.components.iter().enumerate() {
            let at = format!("components[{i}]");
            component.validate(&at)?;
            if !names.insert(component.name.as_str()) {
                return Err(err(
                    format!("{at}.name"),
                    format!("a second component named `{}`", component.name),
                ));
            }
        }
        let known = || names.iter().copied().collect::<Vec<_>>().join(", ");
        let mut keys = BTreeSet::new();
        for (i, link) in self.links.iter().enumerate() {
            let at = format!("links[{i}]");
            for (field, name) in [("source", &link.source), ("target", &link.target)] {
                if !names.contains(name.as_str()) {
                    return Err(err(
                        format!("{at}.{field}"),
                        format!(
                            "`{name}` is not a component of this app (its components: {})",
                            known()
                        ),
                    ));
                }
            }
            if link.source == link.target {
                return Err(err(
                    format!("{at}.target"),
                    "a component cannot be linked to itself",
                ));
            }
            let (package, _) = link
                .package_and_interfaces()
                .map_err(|e| err(format!("{at}.interfaces"), e.to_string()))?;
            crate::link::parse_link_name(&link.link_name)
                .map_err(|e| err(format!("{at}.link-name"), e.to_string()))?;
            if !keys.insert((link.source.clone(), package.clone(), link.link_name.clone())) {
                return Err(err(
                    at,
                    format!(
                        "a second link from `{}` for {package} named `{}` (give one another link-name)",
                        link.source, link.link_name
                    ),
                ));
            }
        }
        super::routes::validate(self)
    }

    /// The component called `name`.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}

impl Component {
    /// `idle-after` as a start request carries it: `None` for the host's
    /// default, `Some(0)` for never (a manifest that validated parses).
    pub fn idle_after_ms(&self) -> Option<u64> {
        let text = self.idle_after.as_deref()?;
        let idle = crate::duration::parse_optional_duration(text).ok()?;
        Some(idle.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
    }

    fn validate(&self, at: &str) -> Result<(), ManifestError> {
        if !super::valid_app_name(&self.name) {
            return Err(err(
                format!("{at}.name"),
                format!(
                    "`{}` is not a component name: 1 to 63 of a-z, 0-9 and `-`",
                    self.name
                ),
            ));
        }
        match ArtifactRef::parse(&self.image) {
            Some(Err(e)) => return Err(err(format!("{at}.image"), e.to_string())),
            Some(Ok(_)) => {}
            None if self.image.starts_with('/') => {}
            None => {
                return Err(err(
                    format!("{at}.image"),
                    format!(
                        "`{}` is neither an artifact reference (floe://NAME:TAG, from `floe push`) nor an absolute path",
                        self.image
                    ),
                ));
            }
        }
        match (self.kind, self.max_concurrent) {
            (ComponentKind::Actor, Some(0)) => {
                return Err(err(format!("{at}.max-concurrent"), "must be at least 1"));
            }
            (ComponentKind::Provider, Some(_)) => {
                return Err(err(
                    format!("{at}.max-concurrent"),
                    "applies to actors only (a provider is one process per host)",
                ));
            }
            _ => {}
        }
        if !self.secrets.is_empty() && self.kind == ComponentKind::Provider {
            return Err(err(
                format!("{at}.secrets"),
                "applies to actors only (start a provider that needs a secret by hand with --secret)",
            ));
        }
        for (key, name) in &self.secrets {
            crate::actor_config::check_config_key(key)
                .map_err(|e| err(format!("{at}.secrets.{key}"), e.to_string()))?;
            crate::secrets::check_name(name)
                .map_err(|e| err(format!("{at}.secrets.{key}"), e.to_string()))?;
        }
        if self.dormant && self.kind == ComponentKind::Provider {
            return Err(err(
                format!("{at}.dormant"),
                "applies to actors only (a provider process does not sleep)",
            ));
        }
        if let Some(text) = &self.idle_after {
            if self.kind == ComponentKind::Provider {
                return Err(err(
                    format!("{at}.idle-after"),
                    "applies to actors only (a provider process does not sleep)",
                ));
            }
            crate::duration::parse_optional_duration(text)
                .map_err(|e| err(format!("{at}.idle-after"), e.to_string()))?;
        }
        let p = &self.placement;
        let kind = self.kind;
        let at = format!("{at}.placement");
        match (p.replicas, p.daemon, &p.autoscale) {
            (Some(_), true, _) => {
                return Err(err(at, "either `replicas` or `daemon: true`, not both"));
            }
            (_, true, Some(_)) => {
                return Err(err(
                    format!("{at}.autoscale"),
                    "a daemon runs on every matching host: it cannot also autoscale",
                ));
            }
            (Some(_), _, Some(_)) => {
                return Err(err(
                    format!("{at}.autoscale"),
                    "either `replicas: N` or `autoscale`, not both",
                ));
            }
            (None, false, None) => {
                return Err(err(
                    at,
                    "needs `replicas: N`, `autoscale: {min, max}` or `daemon: true`",
                ));
            }
            (None, false, Some(scale)) => {
                if kind == ComponentKind::Provider {
                    return Err(err(
                        format!("{at}.autoscale"),
                        "applies to actors only (a provider is one process per host)",
                    ));
                }
                scale.validate(&format!("{at}.autoscale"))?;
            }
            _ => {}
        }
        if p.daemon && !p.spread.is_empty() {
            return Err(err(
                format!("{at}.spread"),
                "a daemon runs on every matching host: use `requirements`, not `spread`",
            ));
        }
        for (i, spread) in p.spread.iter().enumerate() {
            if spread.weight == 0 {
                return Err(err(
                    format!("{at}.spread[{i}].weight"),
                    "must be at least 1",
                ));
            }
            if spread.requirements.is_empty() {
                return Err(err(
                    format!("{at}.spread[{i}].requirements"),
                    "a spread group names the labels of its hosts (e.g. zone: a)",
                ));
            }
        }
        Ok(())
    }

    /// True when a host with `labels` may run this component in the spread
    /// group `group` (`None`: no spread, any group).
    pub fn host_matches(&self, labels: &StringMap, group: Option<usize>) -> bool {
        let required = |reqs: &StringMap| reqs.iter().all(|(k, v)| labels.get(k) == Some(v));
        if !required(&self.placement.requirements) {
            return false;
        }
        match group.and_then(|g| self.placement.spread.get(g)) {
            Some(spread) => required(&spread.requirements),
            None => true,
        }
    }
}
