use super::*;

const A: &str = "MAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const B: &str = "MBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const C: &str = "MCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

fn route(name: &str, hosts: &[&str], path: &str, kind: PathKind, target: &str) -> Route {
    let mut route = Route {
        name: name.into(),
        hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        path: path.into(),
        path_kind: kind,
        methods: Vec::new(),
        headers: Default::default(),
        target: target.into(),
        strip_prefix: false,
        timeout_ms: None,
        tls: None,
        https_redirect: false,
        ..Default::default()
    };
    route.normalize().expect("valid");
    route
}

fn find<'t>(table: &'t RouteTable, host: &str, path: &str) -> Option<&'t str> {
    find_with(table, host, path, "GET", &[])
}

fn find_with<'t>(
    table: &'t RouteTable,
    host: &str,
    path: &str,
    method: &str,
    headers: &[(&str, &str)],
) -> Option<&'t str> {
    let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    table
        .find(&Request {
            host,
            path,
            method,
            header: &lookup,
        })
        .map(|(r, _)| r.name.as_str())
}

/// The acceptance test's routes.
fn example() -> RouteTable {
    RouteTable::new(vec![
        route("a", &["a.example.com"], "/", PathKind::Prefix, A),
        route("b", &["b.example.com"], "/api", PathKind::Prefix, B),
        route("static", &["*.example.com"], "/static", PathKind::Prefix, C),
        route(
            "c-exact",
            &["b.example.com"],
            "/api/v2/exact",
            PathKind::Exact,
            C,
        ),
    ])
}

#[test]
fn hosts_then_paths_decide_by_gateway_api_precedence() {
    let table = example();
    assert_eq!(find(&table, "a.example.com", "/anything"), Some("a"));
    // The exact host beats the wildcard, even for the wildcard's path.
    assert_eq!(find(&table, "a.example.com", "/static/x"), Some("a"));
    assert_eq!(find(&table, "b.example.com", "/api"), Some("b"));
    assert_eq!(find(&table, "b.example.com", "/api/"), Some("b"));
    assert_eq!(find(&table, "b.example.com", "/api/x"), Some("b"));
    assert_eq!(
        find(&table, "b.example.com", "/apix"),
        None,
        "segments, not characters"
    );
    // The exact path beats every prefix that also matches.
    assert_eq!(
        find(&table, "b.example.com", "/api/v2/exact"),
        Some("c-exact")
    );
    assert_eq!(
        find(&table, "b.example.com", "/api/v2/exact/more"),
        Some("b")
    );
    // Another host of the wildcard falls through to it.
    assert_eq!(
        find(&table, "x.example.com", "/static/app.js"),
        Some("static")
    );
    assert_eq!(
        find(&table, "deep.x.example.com", "/static"),
        Some("static")
    );
    assert_eq!(
        find(&table, "example.com", "/static"),
        None,
        "the wildcard needs a label"
    );
    assert_eq!(
        find(&table, "X.Example.COM:8080", "/static"),
        Some("static"),
        "case and port"
    );
    assert_eq!(
        find(&table, "b.example.com.", "/api"),
        Some("b"),
        "a final dot"
    );
    assert_eq!(
        find(&table, "b.example.com", "/static"),
        Some("static"),
        "b's host has no /static: the wildcard"
    );
}

#[test]
fn methods_headers_and_age_break_ties() {
    let mut get = route("get", &[], "/x", PathKind::Prefix, A);
    get.methods = vec!["get".into()];
    get.normalize().expect("valid");
    let mut canary = route("canary", &[], "/x", PathKind::Prefix, B);
    canary.headers = [("X-Canary".to_owned(), "1".to_owned())].into();
    canary.normalize().expect("valid");
    let mut old = route("old", &[], "/x", PathKind::Prefix, C);
    old.created_ms = 1;
    let mut young = route("young", &[], "/x", PathKind::Prefix, C);
    young.created_ms = 2;
    let table = RouteTable::new(vec![young, canary, old, get]);
    assert_eq!(find_with(&table, "h", "/x", "GET", &[]), Some("get"));
    assert_eq!(
        find_with(&table, "h", "/x", "POST", &[("x-canary", "1")]),
        Some("canary")
    );
    assert_eq!(
        find_with(&table, "h", "/x", "POST", &[("x-canary", "2")]),
        Some("old")
    );
    assert_eq!(find_with(&table, "h", "/y", "POST", &[]), None);
}

#[test]
fn a_root_prefix_catches_everything_left() {
    let table = RouteTable::new(vec![
        route("root", &[], "/", PathKind::Prefix, A),
        route("api", &[], "/api", PathKind::Prefix, B),
    ]);
    assert_eq!(find(&table, "any", "/"), Some("root"));
    assert_eq!(find(&table, "any", "/apis"), Some("root"));
    assert_eq!(find(&table, "any", "/api/v1"), Some("api"));
    assert_eq!(find(&table, "any", ""), Some("root"));
}

#[test]
fn bad_routes_name_the_field() {
    let bad = |change: fn(&mut Route), field: &str| {
        let mut r = route("r", &[], "/", PathKind::Prefix, A);
        change(&mut r);
        assert_eq!(r.normalize().map_err(|e| e.field), Err(field.to_owned()));
    };
    bad(|r| r.name = "no spaces".into(), "name");
    bad(|r| r.hosts = vec!["*.".into()], "hosts");
    bad(|r| r.hosts = vec!["a..b".into()], "hosts");
    bad(|r| r.hosts = vec!["*example.com".into()], "hosts");
    bad(|r| r.path = "api".into(), "path");
    bad(|r| r.path = "/a?x=1".into(), "path");
    bad(|r| r.path = "/a/../b".into(), "path");
    bad(|r| r.target = "echo".into(), "target");
    bad(|r| r.timeout_ms = Some(0), "timeout");
    bad(|r| r.canary = vec![canary(A, 10)], "canary[0].target");
    bad(|r| r.canary = vec![canary(B, 0)], "canary[0].weight");
    bad(
        |r| r.canary = vec![canary(B, 10), canary(B, 5)],
        "canary[1].target",
    );
    bad(|r| r.canary = vec![canary("echo", 5)], "canary[0].target");
    bad(|r| r.canary = vec![canary(B, 60), canary(C, 41)], "canary");
    bad(
        |r| {
            r.path_kind = PathKind::Exact;
            r.strip_prefix = true;
        },
        "strip-prefix",
    );
    let mut r = route("r", &["A.Example.com"], "/api/", PathKind::Prefix, A);
    r.normalize().expect("valid");
    assert_eq!(
        (r.hosts[0].as_str(), r.path.as_str()),
        ("a.example.com", "/api")
    );
}

#[test]
fn the_same_match_under_another_name_conflicts() {
    let first = route(
        "first",
        &["a.example.com", "b.example.com"],
        "/api",
        PathKind::Prefix,
        A,
    );
    let same = route("second", &["b.example.com"], "/api/", PathKind::Prefix, B);
    let other_path = route("third", &["b.example.com"], "/api", PathKind::Exact, B);
    let existing = [first.clone()];
    assert_eq!(
        conflict(&same, &existing).map(|r| r.name.as_str()),
        Some("first")
    );
    assert!(conflict(&other_path, &existing).is_none());
    assert!(
        conflict(&first, &existing).is_none(),
        "a route does not conflict with itself"
    );
}

#[test]
fn strip_prefix_keeps_the_rest_of_the_path() {
    let mut r = route("r", &[], "/api", PathKind::Prefix, A);
    r.strip_prefix = true;
    assert_eq!(r.forwarded_path("/api/users?id=1"), "/users?id=1");
    assert_eq!(r.forwarded_path("/api"), "/");
    assert_eq!(r.forwarded_path("/api?x"), "/?x");
}

fn canary(target: &str, weight: u32) -> Canary {
    Canary {
        target: target.into(),
        weight,
    }
}

#[test]
fn canaries_take_their_share_of_the_rolls_and_the_target_the_rest() {
    let mut r = route("r", &[], "/", PathKind::Prefix, A);
    r.canary = vec![canary(B, 10), canary(C, 25)];
    r.normalize().expect("valid");
    let mut counts = std::collections::BTreeMap::new();
    for roll in 0..100 {
        *counts.entry(r.pick(roll)).or_insert(0) += 1;
    }
    assert_eq!(counts[A], 65);
    assert_eq!(counts[B], 10);
    assert_eq!(counts[C], 25);
    assert_eq!(r.targets().collect::<Vec<_>>(), [A, B, C]);
    // A canary at 100% takes every request.
    r.canary = vec![canary(B, 100)];
    r.normalize().expect("valid");
    assert!((0..100).all(|roll| r.pick(roll) == B));
}
