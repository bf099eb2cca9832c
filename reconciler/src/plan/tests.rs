use floe_wire::app::AppManifest;

use super::*;

fn version(yaml_json: serde_json::Value) -> AppVersion {
    AppVersion {
        seq: 1,
        manifest: serde_json::from_value::<AppManifest>(yaml_json).expect("manifest"),
        applied_at: 0,
        rollback_of: None,
    }
}

fn shop() -> AppVersion {
    version(serde_json::json!({
        "name": "shop", "version": "1",
        "components": [{"name": "api", "kind": "actor", "image": "/api.wasm",
            "placement": {"replicas": 3, "spread": [
                {"requirements": {"zone": "a"}, "weight": 2},
                {"requirements": {"zone": "b"}, "weight": 1}]}}]
    }))
}

fn host(id: &str, zone: &str) -> HostView {
    HostView {
        host_id: id.to_owned(),
        labels: [("zone".to_owned(), zone.to_owned())].into(),
        ..HostView::default()
    }
}

fn run_api(host: &mut HostView, reference: &str) {
    host.actors.push(ActorDescription {
        actor_id: "MAPI".to_owned(),
        name: "api".to_owned(),
        version: "1".to_owned(),
        revision: 1,
        issuer: "A".to_owned(),
        reference: reference.to_owned(),
        max_concurrent: 1,
        annotations: annotations("shop", "api"),
        calls: 0,
        instances: 0,
        failures: Default::default(),
        in_flight: 0,
        claims: None,
        state: Default::default(),
        idle_after_ms: None,
        last_call_unix_ms: None,
        cold_starts: 0,
        wake_failure: None,
        config: Default::default(),
        secrets: Default::default(),
    });
}

fn starts(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::StartActor { host, .. } => Some(host.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn replicas_follow_the_weights_one_per_host() {
    let hosts = [
        host("H1", "a"),
        host("H2", "a"),
        host("H3", "b"),
        host("H4", "b"),
    ];
    let plan = plan_app(&shop(), &hosts, &[], &Memory::default());
    assert_eq!(starts(&plan), ["H1", "H2", "H3"]);
    assert!(plan.impossible.is_empty(), "{plan:?}");
}

#[test]
fn a_group_without_hosts_is_impossible_and_says_so() {
    let hosts = [host("H1", "a"), host("H2", "a")];
    let plan = plan_app(&shop(), &hosts, &[], &Memory::default());
    assert_eq!(starts(&plan), ["H1", "H2"]);
    assert_eq!(plan.impossible.len(), 1);
    assert!(plan.impossible[0].contains("zone=b"), "{plan:?}");
}

#[test]
fn nothing_to_do_when_it_all_runs_and_extras_or_misplaced_go() {
    let mut hosts = vec![host("H1", "a"), host("H2", "a"), host("H3", "b")];
    hosts.iter_mut().for_each(|h| run_api(h, "/api.wasm"));
    let plan = plan_app(&shop(), &hosts, &[], &Memory::default());
    assert_eq!(plan, Plan::default());
    // A fourth replica, and one on a host that matches no group.
    let mut extra = host("H4", "b");
    run_api(&mut extra, "/api.wasm");
    let mut stray = host("H5", "c");
    run_api(&mut stray, "/api.wasm");
    hosts.push(extra);
    hosts.push(stray);
    let plan = plan_app(&shop(), &hosts, &[], &Memory::default());
    let stops: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::StopActor { host, .. } => Some(host.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(stops, ["H5", "H4"]);
    assert!(starts(&plan).is_empty());
}

#[test]
fn a_rollout_updates_one_replica_per_pass_and_stops_when_stalled() {
    let mut hosts = vec![host("H1", "a"), host("H2", "a"), host("H3", "b")];
    hosts.iter_mut().for_each(|h| run_api(h, "/old.wasm"));
    let plan = plan_app(&shop(), &hosts, &[], &Memory::default());
    let updates: Vec<_> = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::UpdateActor { .. }))
        .collect();
    assert_eq!(updates.len(), 1, "{plan:?}");
    let stalled = Memory {
        stalled: [(
            "api".to_owned(),
            Stall {
                reason: "no such file".to_owned(),
                fallback: Some("/old.wasm".to_owned()),
            },
        )]
        .into(),
        ..Memory::default()
    };
    let plan = plan_app(&shop(), &hosts, &[], &stalled);
    assert!(plan.actions.is_empty(), "{plan:?}");
    assert!(plan.impossible[0].contains("rollout"), "{plan:?}");
    // A replica lost meanwhile comes back with the version still running.
    hosts[2].actors.clear();
    hosts.push(host("H4", "b"));
    let plan = plan_app(&shop(), &hosts, &[], &stalled);
    let images: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::StartActor { image, .. } => Some(image.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(images, ["/old.wasm"], "{plan:?}");
}

#[test]
fn a_replica_being_stopped_is_not_updated_and_failed_hosts_come_last() {
    // Mid-rollout the app shrinks to two: the outdated extra just goes.
    let mut two = shop();
    two.manifest.components[0].placement.spread.clear();
    two.manifest.components[0].placement.replicas = Some(2);
    let mut hosts = vec![host("H1", "a"), host("H2", "a"), host("H3", "a")];
    run_api(&mut hosts[0], "/api.wasm");
    run_api(&mut hosts[1], "/api.wasm");
    run_api(&mut hosts[2], "/old.wasm");
    let plan = plan_app(&two, &hosts, &[], &Memory::default());
    assert_eq!(
        plan.actions,
        [Action::StopActor {
            host: "H3".to_owned(),
            actor_id: "MAPI".to_owned()
        }]
    );
    // A start that failed on H1 sends the next try to H2.
    let hosts = [host("H1", "a"), host("H2", "a")];
    let mut one = two.clone();
    one.manifest.components[0].placement.replicas = Some(1);
    let memory = Memory {
        avoid: [("api".to_owned(), ["H1".to_owned()].into())].into(),
        ..Memory::default()
    };
    assert_eq!(starts(&plan_app(&one, &hosts, &[], &memory)), ["H2"]);
    assert_eq!(
        starts(&plan_app(&one, &hosts, &[], &Memory::default())),
        ["H1"]
    );
}

#[test]
fn a_component_dropped_from_the_manifest_is_stopped() {
    let mut hosts = vec![host("H1", "a"), host("H2", "a"), host("H3", "b")];
    hosts.iter_mut().for_each(|h| run_api(h, "/api.wasm"));
    hosts[0].actors[0].annotations = annotations("shop", "old-worker");
    hosts[0].actors[0].actor_id = "MOLD".to_owned();
    run_api(&mut hosts[0], "/api.wasm");
    let plan = plan_app(&shop(), &hosts, &[], &Memory::default());
    assert_eq!(
        plan.actions,
        [Action::StopActor {
            host: "H1".to_owned(),
            actor_id: "MOLD".to_owned()
        }]
    );
}

#[test]
fn links_wait_for_both_ends_then_carry_the_app() {
    let app = version(serde_json::json!({
        "name": "kv", "version": "1",
        "components": [
            {"name": "api", "kind": "actor", "image": "/api.wasm", "placement": {"replicas": 1}},
            {"name": "store", "kind": "provider", "image": "floe://kv:1", "placement": {"daemon": true}}],
        "links": [{"source": "api", "target": "store", "interfaces": ["wasi:keyvalue/store"]}]
    }));
    let mut h = host("H1", "a");
    run_api(&mut h, "/api.wasm");
    h.actors[0].annotations = annotations("kv", "api");
    let plan = plan_app(&app, std::slice::from_ref(&h), &[], &Memory::default());
    assert!(plan.missing.iter().any(|m| m.contains("waits")), "{plan:?}");
    assert!(!plan.actions.iter().any(|a| matches!(a, Action::PutLink(_))));
    h.providers.push(ProviderDescription {
        provider_id: "VSTORE".to_owned(),
        name: "kv".to_owned(),
        reference: "floe://kv:1".to_owned(),
        claims: None,
        target: None,
        health: floe_wire::control::ProviderHealth::Healthy,
        restarts: 0,
        pid: None,
        annotations: annotations("kv", "store"),
    });
    let plan = plan_app(&app, std::slice::from_ref(&h), &[], &Memory::default());
    let link = plan
        .actions
        .iter()
        .find_map(|a| match a {
            Action::PutLink(l) => Some(l.clone()),
            _ => None,
        })
        .expect("a link");
    assert_eq!(
        (link.source.as_str(), link.target.as_str()),
        ("MAPI", "VSTORE")
    );
    assert_eq!(
        link.annotations.get(APP_ANNOTATION).map(String::as_str),
        Some("kv")
    );
    // Once stored, nothing more; removal takes the link and both replicas.
    let plan = plan_app(
        &app,
        std::slice::from_ref(&h),
        std::slice::from_ref(&link),
        &Memory::default(),
    );
    assert_eq!(plan, Plan::default());
    assert_eq!(
        plan_removal("kv", std::slice::from_ref(&h), &[link]).len(),
        3
    );
}

#[test]
fn app_routes_are_stored_once_the_target_runs_kept_and_removed_with_the_app() {
    let app = version(serde_json::json!({
        "name": "shop", "version": "1",
        "components": [{"name": "api", "kind": "actor", "image": "/api.wasm"}],
        "routes": [{"name": "shop-api", "hosts": ["shop.example.com"], "path": "/api",
                    "target": "api"}]
    }));
    let mut h = host("H1", "a");
    let mut plan = Plan::default();
    plan_routes(&app, std::slice::from_ref(&h), &[], &mut plan);
    assert!(plan.actions.is_empty(), "{plan:?}");
    assert_eq!(plan.missing, ["route shop-api: waits for api to run"]);

    run_api(&mut h, "/api.wasm");
    let id = format!("M{:A>55}", "");
    h.actors[0].actor_id = id.clone();
    let mut plan = Plan::default();
    plan_routes(&app, std::slice::from_ref(&h), &[], &mut plan);
    let Some(Action::PutRoute(route)) = plan.actions.first() else {
        panic!("a route to store: {plan:?}");
    };
    assert_eq!(route.target, id);
    assert_eq!(
        route.annotations.get(APP_ANNOTATION).map(String::as_str),
        Some("shop")
    );
    // Stored (with the time the store gave it): nothing more to do.
    let mut stored = route.clone();
    stored.created_ms = 1_234;
    let mut plan = Plan::default();
    plan_routes(
        &app,
        std::slice::from_ref(&h),
        std::slice::from_ref(&stored),
        &mut plan,
    );
    assert_eq!(plan, Plan::default());

    // A route of that name stored by someone else is left alone, reported.
    let mut foreign = stored.clone();
    foreign.annotations.clear();
    let mut plan = Plan::default();
    plan_routes(
        &app,
        std::slice::from_ref(&h),
        std::slice::from_ref(&foreign),
        &mut plan,
    );
    assert!(plan.actions.is_empty());
    assert!(plan.impossible[0].contains("floe ingress put"), "{plan:?}");

    // Dropped from the manifest, or the app removed: deleted.
    let mut without = app.clone();
    without.manifest.routes.clear();
    let mut plan = Plan::default();
    plan_routes(
        &without,
        std::slice::from_ref(&h),
        std::slice::from_ref(&stored),
        &mut plan,
    );
    assert_eq!(
        plan.actions,
        [Action::DeleteRoute {
            name: "shop-api".into()
        }]
    );
    assert_eq!(
        route_removal("shop", std::slice::from_ref(&stored)).len(),
        1
    );
    assert!(route_removal("other", std::slice::from_ref(&stored)).is_empty());
    assert_eq!(
        route_owners(&[stored, foreign])
            .into_iter()
            .collect::<Vec<_>>(),
        ["shop"]
    );
}
