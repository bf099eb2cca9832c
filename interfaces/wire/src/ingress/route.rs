//! One ingress route (docs/ingress.md) as stored in the lattice under
//! `route.{name}`: what it matches — host names (exact or `*.suffix`), a
//! path (exact, or a segment-aware prefix), methods, headers — and the
//! actor it sends to. Validation names the field at fault.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The KV key prefix of routes in the lattice's bucket.
pub const ROUTE_KEY_PREFIX: &str = "route.";

/// The KV key of route `name`.
pub fn route_key(name: &str) -> String {
    format!("{ROUTE_KEY_PREFIX}{name}")
}

/// The route name a key of the bucket stores, if it is a route's.
pub fn name_of_key(key: &str) -> Option<&str> {
    key.strip_prefix(ROUTE_KEY_PREFIX)
}

/// How a route's path matches.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PathKind {
    /// The request's path equals it.
    Exact,
    /// The request's path is it, or starts with it followed by `/`.
    #[default]
    Prefix,
}

/// Another actor that answers a share of a route's requests (a canary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    /// The actor (id, `M…`).
    pub target: String,
    /// The percentage of requests it answers (1 to 100).
    pub weight: u32,
}

/// A route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Route {
    pub name: String,
    /// Host names: exact (`a.example.com`) or a wildcard (`*.example.com`,
    /// which matches one or more labels before `.example.com`, never
    /// `example.com` itself). None: any host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    pub path: String,
    #[serde(default = "prefix")]
    pub path_kind: PathKind,
    /// Methods (upper case); none: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Headers that must be present with exactly these values (names
    /// lower case).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The actor (id, `M…`) that answers the requests no canary takes.
    pub target: String,
    /// Other actors, each answering its percentage of the requests, picked
    /// per request (their weights add up to at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canary: Vec<Canary>,
    /// Remove the matched prefix from the path the actor sees.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strip_prefix: bool,
    /// How long a request may take, in milliseconds (default 30 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The secret holding the PEM certificate chain and private key served
    /// for this route's hosts over TLS (its allow-list names `@ingress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    /// Answer plain-HTTP requests with a redirect to HTTPS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub https_redirect: bool,
    /// When the route was first stored (Unix milliseconds): the older of
    /// two otherwise equal matches wins.
    #[serde(default)]
    pub created_ms: u64,
    /// Who stored it: an app's routes carry `floe.app` (the reconciler
    /// keeps them as the app's manifest says).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn prefix() -> PathKind {
    PathKind::Prefix
}

/// Why a route is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RouteError {
    pub field: String,
    pub reason: String,
}

fn err(field: &str, reason: impl Into<String>) -> RouteError {
    RouteError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The longest route name.
pub const MAX_NAME_LEN: usize = 64;
/// The longest timeout a route may ask for.
pub const MAX_TIMEOUT_MS: u64 = 300_000;

impl Route {
    /// Checks every field, and puts hosts, path, methods and headers in
    /// their canonical form (lower-case hosts and header names, upper-case
    /// methods, sorted, no trailing `/` on a prefix but the root).
    pub fn normalize(&mut self) -> Result<(), RouteError> {
        let name_fits = !self.name.is_empty()
            && self.name.len() <= MAX_NAME_LEN
            && self.name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_fits {
            return Err(err(
                "name",
                format!(
                    "{:?} is not a valid route name: 1 to 64 letters, digits, '-' or '_', a letter or digit first",
                    self.name
                ),
            ));
        }
        for host in &mut self.hosts {
            *host = host.trim().to_ascii_lowercase();
            check_host(host)?;
        }
        self.hosts.sort();
        self.hosts.dedup();
        self.path = normal_path(&self.path, self.path_kind)?;
        for method in &mut self.methods {
            *method = method.trim().to_ascii_uppercase();
            if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(err("methods", format!("{method:?} is not an HTTP method")));
            }
        }
        self.methods.sort();
        self.methods.dedup();
        let headers = std::mem::take(&mut self.headers);
        for (name, value) in headers {
            let name = name.trim().to_ascii_lowercase();
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid {
                return Err(err("headers", format!("{name:?} is not a header name")));
            }
            self.headers.insert(name, value);
        }
        if !is_actor_id(&self.target) {
            return Err(err(
                "target",
                format!("{:?} is not an actor id (M…)", self.target),
            ));
        }
        self.check_canary()?;
        if self.strip_prefix && self.path_kind == PathKind::Exact {
            return Err(err("strip-prefix", "applies to prefix paths only"));
        }
        if let Some(secret) = &self.tls {
            crate::secrets::check_name(secret).map_err(|e| err("tls", e.to_string()))?;
            if self.hosts.is_empty() {
                return Err(err(
                    "tls",
                    "names the hosts its certificate serves: add --host",
                ));
            }
        }
        if self.https_redirect && self.tls.is_none() {
            return Err(err(
                "https-redirect",
                "needs `tls`: a certificate to serve the redirected requests with",
            ));
        }
        if let Some(ms) = self.timeout_ms
            && !(1..=MAX_TIMEOUT_MS).contains(&ms)
        {
            return Err(err("timeout", "must be between 1 ms and 5 minutes"));
        }
        Ok(())
    }

    fn check_canary(&self) -> Result<(), RouteError> {
        let mut total = 0u32;
        for (i, canary) in self.canary.iter().enumerate() {
            let at = format!("canary[{i}]");
            if !is_actor_id(&canary.target) {
                return Err(err(
                    &format!("{at}.target"),
                    format!("{:?} is not an actor id (M…)", canary.target),
                ));
            }
            if canary.target == self.target
                || self.canary[..i].iter().any(|c| c.target == canary.target)
            {
                return Err(err(
                    &format!("{at}.target"),
                    "names an actor the route already sends to",
                ));
            }
            if !(1..=100).contains(&canary.weight) {
                return Err(err(
                    &format!("{at}.weight"),
                    "is a percentage of the requests: 1 to 100",
                ));
            }
            total += canary.weight;
        }
        if total > 100 {
            return Err(err(
                "canary",
                format!("the weights add up to {total}%: at most 100"),
            ));
        }
        Ok(())
    }

    /// The actor that answers a request whose roll (uniform in `0..100`)
    /// is `roll`: the first canary whose share covers it, else `target`.
    pub fn pick(&self, roll: u32) -> &str {
        let mut upto = 0;
        for canary in &self.canary {
            upto += canary.weight;
            if roll < upto {
                return &canary.target;
            }
        }
        &self.target
    }

    /// Every actor it sends to, `target` first.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.target.as_str()).chain(self.canary.iter().map(|c| c.target.as_str()))
    }

    /// What two routes may not both match: the same hosts (each), path,
    /// methods and headers. One key per host name (`*` for any host).
    pub fn match_keys(&self) -> Vec<String> {
        let rest = format!(
            "{:?} {} {} {:?}",
            self.path_kind,
            self.path,
            self.methods.join(","),
            self.headers
        );
        if self.hosts.is_empty() {
            return vec![format!("* {rest}")];
        }
        self.hosts.iter().map(|h| format!("{h} {rest}")).collect()
    }

    /// The path the actor sees for `path_with_query` matched by this route.
    pub fn forwarded_path(&self, path_with_query: &str) -> String {
        if !self.strip_prefix || self.path == "/" {
            return path_with_query.to_owned();
        }
        match path_with_query.strip_prefix(self.path.as_str()) {
            Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("/{rest}"),
            Some(rest) => rest.to_owned(),
            None => path_with_query.to_owned(),
        }
    }
}

fn is_actor_id(id: &str) -> bool {
    id.len() == 56
        && id.starts_with('M')
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Checks a host pattern: a DNS name of labels of `a-z 0-9 -`, or
/// `*.` followed by one.
fn check_host(host: &str) -> Result<(), RouteError> {
    let name = host.strip_prefix("*.").unwrap_or(host);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(err(
            "hosts",
            format!("{host:?} is not a host name or a wildcard `*.example.com`"),
        ));
    }
    Ok(())
}

/// A path in canonical form: starts with `/`, no `?` or `#`, no empty or
/// dot segments; a prefix without a trailing `/` (but the root).
fn normal_path(path: &str, kind: PathKind) -> Result<String, RouteError> {
    let path = path.trim();
    if !path.starts_with('/') {
        return Err(err("path", format!("{path:?} must start with /")));
    }
    if path.contains(['?', '#']) || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(
            "path",
            format!("{path:?} must be a path alone, without query or spaces"),
        ));
    }
    let trimmed = match kind {
        PathKind::Prefix if path.len() > 1 => path.trim_end_matches('/'),
        _ => path,
    };
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    if trimmed.split('/').skip(1).any(|s| {
        s == "." || s == ".." || (s.is_empty() && trimmed != "/" && kind == PathKind::Prefix)
    }) {
        return Err(err("path", format!("{path:?} has empty or dot segments")));
    }
    Ok(trimmed.to_owned())
}
