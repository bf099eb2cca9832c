//! [`RouteTable`]: routes compiled for matching, by Gateway API HTTPRoute
//! precedence: the longest matching non-wildcard host, then the longest
//! matching wildcard host, then routes for any host; within those, an
//! exact path over every prefix, a longer prefix over a shorter one; then
//! a route naming methods, then the most header matches, then the oldest
//! route (then its name). Exact hosts are a map, wildcards are sorted by
//! length, and per host the paths are maps walked segment by segment, so a
//! lookup costs the same with one route or thousands.

use std::borrow::Cow;
use std::collections::HashMap;

use super::route::{PathKind, Route};

/// The routes of one host pattern, by path.
#[derive(Debug, Default)]
struct Group {
    exact: HashMap<String, Vec<usize>>,
    prefix: HashMap<String, Vec<usize>>,
}

/// Compiled routes; built whole and swapped, never changed in place.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    hosts: HashMap<String, Group>,
    /// `(".example.com", group)`, longest suffix first.
    wildcards: Vec<(String, Group)>,
    any: Group,
}

/// What a request offers to matching.
pub struct Request<'a> {
    /// The `Host` header or the URI's authority (port and case ignored).
    pub host: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    pub method: &'a str,
    /// A header's value by lower-case name.
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("host", &self.host)
            .field("path", &self.path)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// Which rule picked a route (for `floe ingress test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMatch {
    Exact,
    Wildcard,
    Any,
}

impl RouteTable {
    /// Compiles `routes` (each already normalized).
    pub fn new(mut routes: Vec<Route>) -> Self {
        // Within one path, candidates in precedence order.
        routes.sort_by(|a, b| {
            let rank = |r: &Route| {
                (
                    r.methods.is_empty(),
                    std::cmp::Reverse(r.headers.len()),
                    r.created_ms,
                )
            };
            rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name))
        });
        let mut table = RouteTable::default();
        let mut wildcards: HashMap<String, Group> = HashMap::new();
        for (index, route) in routes.iter().enumerate() {
            if route.hosts.is_empty() {
                add(&mut table.any, route, index);
                continue;
            }
            for host in &route.hosts {
                match host.strip_prefix('*') {
                    Some(suffix) => add(
                        wildcards.entry(suffix.to_owned()).or_default(),
                        route,
                        index,
                    ),
                    None => add(table.hosts.entry(host.clone()).or_default(), route, index),
                }
            }
        }
        table.wildcards = wildcards.into_iter().collect();
        table
            .wildcards
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        table.routes = routes;
        table
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route that serves `request`, if any, and how its host matched.
    pub fn find(&self, request: &Request<'_>) -> Option<(&Route, HostMatch)> {
        let host = normal_host(request.host);
        let host = host.as_ref();
        if let Some(group) = self.hosts.get(host)
            && let Some(route) = self.in_group(group, request)
        {
            return Some((route, HostMatch::Exact));
        }
        for (suffix, group) in &self.wildcards {
            // `*.example.com` needs at least one label before the suffix.
            if host.len() > suffix.len()
                && host.ends_with(suffix.as_str())
                && let Some(route) = self.in_group(group, request)
            {
                return Some((route, HostMatch::Wildcard));
            }
        }
        self.in_group(&self.any, request)
            .map(|route| (route, HostMatch::Any))
    }

    fn in_group(&self, group: &Group, request: &Request<'_>) -> Option<&Route> {
        let path = if request.path.is_empty() {
            "/"
        } else {
            request.path
        };
        if let Some(found) = group.exact.get(path).and_then(|c| self.first(c, request)) {
            return Some(found);
        }
        // The path itself, then each shorter prefix ending before a `/`.
        let mut candidate = path.trim_end_matches('/');
        loop {
            let key = if candidate.is_empty() { "/" } else { candidate };
            if let Some(found) = group.prefix.get(key).and_then(|c| self.first(c, request)) {
                return Some(found);
            }
            if candidate.is_empty() {
                return None;
            }
            candidate = match candidate.rfind('/') {
                Some(at) => &candidate[..at],
                None => "",
            };
        }
    }

    fn first(&self, candidates: &[usize], request: &Request<'_>) -> Option<&Route> {
        candidates.iter().map(|&i| &self.routes[i]).find(|route| {
            (route.methods.is_empty()
                || route
                    .methods
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(request.method)))
                && route
                    .headers
                    .iter()
                    .all(|(name, value)| (request.header)(name) == Some(value.as_str()))
        })
    }
}

fn add(group: &mut Group, route: &Route, index: usize) {
    let paths = match route.path_kind {
        PathKind::Exact => &mut group.exact,
        PathKind::Prefix => &mut group.prefix,
    };
    paths.entry(route.path.clone()).or_default().push(index);
}

/// A request's host as routes name it: lower case, no port, no final dot.
pub fn normal_host(host: &str) -> Cow<'_, str> {
    let name = match host.strip_prefix('[') {
        // An IPv6 literal: `[::1]:8080`.
        Some(rest) => rest.split_once(']').map_or(host, |(ip, _)| ip),
        None => match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        },
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}
