use super::*;

const SHOP: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "components": [
    {"name": "api", "kind": "actor", "image": "floe://api:1", "max-concurrent": 4,
     "placement": {"replicas": 3, "spread": [
        {"requirements": {"zone": "a"}, "weight": 2},
        {"requirements": {"zone": "b"}, "weight": 1}]}},
    {"name": "kv", "kind": "provider", "image": "floe://kv:1",
     "placement": {"daemon": true}}
  ],
  "links": [
    {"source": "api", "target": "kv", "interfaces": ["wasi:keyvalue/store", "wasi:keyvalue/atomics"],
     "target-config": {"buckets": "counters"}}
  ]
}"#;

fn shop() -> AppManifest {
    serde_json::from_str(SHOP).expect("manifest")
}

#[test]
fn a_good_manifest_validates_with_defaults() {
    let app = shop();
    app.validate().expect("valid");
    assert_eq!(app.links[0].link_name, "default");
    let (package, names) = app.links[0].package_and_interfaces().expect("one package");
    assert_eq!(package, "wasi:keyvalue");
    assert_eq!(names, ["atomics", "store"]);
    let kv = app.component("kv").expect("kv");
    assert!(kv.placement.daemon && kv.placement.replicas.is_none());
}

fn scale(min: u32, max: u32) -> Autoscale {
    Autoscale {
        min,
        max,
        target_in_flight: 10,
        scale_down_after: None,
    }
}

/// Component 0 with `autoscale` instead of its replicas and spread.
fn autoscaled(app: &mut AppManifest, scale: Autoscale) {
    let placement = &mut app.components[0].placement;
    placement.replicas = None;
    placement.spread.clear();
    placement.autoscale = Some(scale);
}

#[test]
fn faults_name_their_field() {
    type Break = fn(&mut AppManifest);
    let cases: Vec<(&str, Break)> = vec![
        ("name", |a| a.name = "Shop!".into()),
        ("components[1].name", |a| {
            a.components[1].name = "api".into()
        }),
        ("components[0].image", |a| {
            a.components[0].image = "api.wasm".into()
        }),
        ("components[0].placement.spread[1].weight", |a| {
            a.components[0].placement.spread[1].weight = 0
        }),
        ("components[1].placement", |a| {
            a.components[1].placement.replicas = Some(2)
        }),
        ("components[1].max-concurrent", |a| {
            a.components[1].max_concurrent = Some(2)
        }),
        ("components[0].placement.autoscale", |a| {
            a.components[0].placement.autoscale = Some(scale(1, 3));
        }),
        ("components[1].placement.autoscale", |a| {
            a.components[1].placement.autoscale = Some(scale(1, 3));
        }),
        ("components[0].placement.autoscale.max", |a| {
            autoscaled(a, scale(3, 1));
        }),
        ("components[0].placement.autoscale.min", |a| {
            autoscaled(a, scale(0, 1));
        }),
        ("components[0].placement.autoscale.target-in-flight", |a| {
            autoscaled(
                a,
                Autoscale {
                    target_in_flight: 0,
                    ..scale(1, 2)
                },
            );
        }),
        ("components[0].placement.autoscale.scale-down-after", |a| {
            autoscaled(
                a,
                Autoscale {
                    scale_down_after: Some("soon".into()),
                    ..scale(1, 2)
                },
            );
        }),
        ("components[0].idle-after", |a| {
            a.components[0].idle_after = Some("whenever".into());
        }),
        ("components[1].dormant", |a| a.components[1].dormant = true),
        ("links[0].target", |a| a.links[0].target = "db".into()),
        ("links[0].interfaces", |a| {
            a.links[0].interfaces.push("acme:other/x".into())
        }),
        ("links[0].target", |a| a.links[0].target = "api".into()),
        ("links[0].link-name", |a| {
            a.links[0].link_name = "a b".into()
        }),
        ("links[0].interfaces", |a| {
            a.links[0].interfaces = vec!["wasi:keyvalue/store@0.2.0".into()]
        }),
    ];
    for (field, break_it) in cases {
        let mut app = shop();
        break_it(&mut app);
        let e = app.validate().expect_err(field);
        assert_eq!(e.field, field, "{e}");
    }
    let e = shop().validate().map(|()| "ok");
    assert_eq!(e, Ok("ok"));
    let mut scaled = shop();
    autoscaled(&mut scaled, scale(1, 3));
    scaled.components[0].idle_after = Some("never".into());
    scaled.components[0].dormant = true;
    assert_eq!(scaled.validate(), Ok(()));
    assert_eq!(scaled.components[0].idle_after_ms(), Some(0));
    let scale = scaled.components[0]
        .placement
        .autoscale
        .as_ref()
        .expect("set");
    assert_eq!(scale.scale_down_after(), DEFAULT_SCALE_DOWN_AFTER);
    let missing_target: Result<AppManifest, _> =
        serde_json::from_str(&SHOP.replace("\"max-concurrent\"", "\"max-concurrency\""));
    let e = missing_target.expect_err("unknown field");
    assert!(e.to_string().contains("max-concurrency"), "{e}");
}

#[test]
fn spread_counts_follow_the_weights_and_add_up() {
    assert_eq!(replicas_per_group(3, &[2, 1]), [2, 1]);
    assert_eq!(replicas_per_group(4, &[2, 1]), [3, 1]);
    assert_eq!(replicas_per_group(5, &[2, 1]), [3, 2]);
    assert_eq!(replicas_per_group(1, &[1, 1]), [1, 0]);
    assert_eq!(replicas_per_group(0, &[1, 1]), [0, 0]);
    assert_eq!(replicas_per_group(7, &[1, 1, 1]), [3, 2, 2]);
    for n in 0..50 {
        assert_eq!(replicas_per_group(n, &[3, 5, 1]).iter().sum::<u32>(), n);
    }
}

#[test]
fn hosts_match_requirements_and_groups() {
    let app = shop();
    let api = app.component("api").expect("api");
    let zone_a: crate::control::StringMap = [("zone".to_owned(), "a".to_owned())].into();
    assert!(api.host_matches(&zone_a, Some(0)));
    assert!(!api.host_matches(&zone_a, Some(1)));
    assert!(api.host_matches(&zone_a, None));
}

#[test]
fn app_names_are_nats_safe() {
    assert!(valid_app_name("shop-2"));
    for bad in ["", "-shop", "Shop", "a.b", "a*", &"x".repeat(64)] {
        assert!(!valid_app_name(bad), "{bad}");
    }
}

/// The shop with a second actor and two routes, one with a canary.
fn shop_with_routes() -> AppManifest {
    let mut app = shop();
    let mut web = app.components[0].clone();
    web.name = "web-v2".into();
    app.components.push(web);
    app.routes = serde_json::from_value(serde_json::json!([
        {"name": "shop-api", "hosts": ["shop.example.com"], "path": "/api",
         "target": "api", "canary": [{"target": "web-v2", "weight": 10}],
         "strip-prefix": true, "timeout": "5s"},
        {"name": "shop-health", "path": "/healthz", "exact": true, "target": "api"}
    ]))
    .expect("routes");
    app
}

#[test]
fn app_routes_become_routes_once_their_components_run() {
    let app = shop_with_routes();
    app.validate().expect("valid");
    let id = |name: &str| match name {
        "api" => Some(format!("M{:A>55}", "")),
        "web-v2" => Some(format!("M{:B>55}", "")),
        _ => None,
    };
    let mut route = app.routes[0].to_route("shop", id).expect("both run");
    route.normalize().expect("valid");
    assert_eq!(route.target, id("api").expect("id"));
    assert_eq!(route.canary[0].weight, 10);
    assert_eq!(route.timeout_ms, Some(5_000));
    assert_eq!(route.annotations[APP_ANNOTATION], "shop");
    let only_api = |name: &str| (name == "api").then(|| id(name)).flatten();
    assert!(app.routes[0].to_route("shop", only_api).is_none());
    assert!(app.routes[1].to_route("shop", only_api).is_some());
}

#[test]
fn app_route_faults_name_their_field() {
    type Break = fn(&mut AppManifest);
    let cases: Vec<(&str, Break)> = vec![
        ("routes[0].target", |a| a.routes[0].target = "kv".into()),
        ("routes[0].target", |a| a.routes[0].target = "nope".into()),
        ("routes[0].canary[0].target", |a| {
            a.routes[0].canary[0].target = "api".into()
        }),
        ("routes[0].canary[0].weight", |a| {
            a.routes[0].canary[0].weight = 101
        }),
        ("routes[0].hosts", |a| a.routes[0].hosts = vec!["*.".into()]),
        ("routes[0].timeout", |a| {
            a.routes[0].timeout = Some("soon".into())
        }),
        ("routes[1].name", |a| a.routes[1].name = "shop-api".into()),
        ("routes[1]", |a| {
            a.routes[1].path = "/api".into();
            a.routes[1].exact = false;
            a.routes[1].hosts = vec!["shop.example.com".into()];
        }),
    ];
    for (field, break_it) in cases {
        let mut app = shop_with_routes();
        break_it(&mut app);
        let e = app.validate().expect_err(field);
        assert_eq!(e.field, field, "{e}");
    }
}
