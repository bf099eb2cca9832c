//! An app's ingress routes (docs/apps.md, docs/ingress.md): the manifest's
//! `routes:` stored by the reconciler with its components' actor ids, a
//! canary taking its share of the requests, the CLI refusing to change a
//! route an app owns, `app/component` as a target, a route dropped from
//! the manifest deleted, and every route of the app gone with the app.

use std::time::Duration;

use floe_tests::http::HttpClient;
use floe_tests::{FloeCli, with_timeout};

use crate::apps::{FAST, apply_and_wait, wait_for};
use crate::ingress::{calls, logged_address, signed_hello};
use crate::lattice::Lattice;

/// The app, with `routes` of its two routes (both, `shop-web` alone, or
/// none); each count is its own version.
fn manifest(web: &str, canary: &str, routes: usize) -> String {
    let all = "routes:
  - name: shop-web
    hosts: [shop.example.com]
    path: /
    target: web
    canary:
      - target: web-next
        weight: 30
  - name: shop-health
    path: /healthz
    exact: true
    target: web
";
    let version = 3 - routes.min(2);
    let routes = match routes {
        2 => all,
        1 => all.split("  - name: shop-health").next().unwrap_or(all),
        _ => "",
    };
    format!(
        r#"
name: shop
version: "{version}"
components:
  - name: web
    kind: actor
    image: {web}
  - name: web-next
    kind: actor
    image: {canary}
{routes}"#,
    )
}

/// The status of a GET of `path` for `host` through ingress at `url`.
async fn status(http: &HttpClient, url: &str, host: &str, path: &str) -> u16 {
    http.send(
        "GET",
        &format!("{url}{path}"),
        &[("host", host)],
        Vec::new(),
    )
    .await
    .expect("ingress answers")
    .status
}

/// Runs a command that must fail; its error text.
fn fails(cli: &FloeCli, args: Vec<String>) -> String {
    let out = cli.run(args);
    assert!(!out.success, "refused: {}", out.stdout);
    out.stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_app_routes_follow_the_manifest_with_a_canary_and_go_with_the_app() {
    with_timeout(Duration::from_secs(120), async {
        let lattice = Lattice::new().await;
        let mut args = FAST.to_vec();
        args.extend(["--ingress", "127.0.0.1:0"]);
        let host = lattice.host(&[], &args).await;
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let dir = tempfile::tempdir().expect("dir");
        let (web, web_path) = signed_hello(dir.path(), "web");
        let (next, next_path) = signed_hello(dir.path(), "web-next");
        let url = format!("http://{}", logged_address(&host, "ingress"));
        let http = HttpClient::new();

        apply_and_wait(&lattice, &cli, "shop", &manifest(&web_path, &next_path, 2)).await;
        // Deployed means stored; hosts apply routes from their watch.
        wait_for("the app's route serves", Duration::from_secs(5), || async {
            status(&http, &url, "shop.example.com", "/").await == 200
        })
        .await;
        let listed = cli.json(lattice.args(&["ingress", "list"]));
        let routes = listed.as_array().expect("a list");
        assert_eq!(routes.len(), 2, "{listed}");
        let shop_web = routes
            .iter()
            .find(|r| r["name"] == "shop-web")
            .expect("shop-web");
        assert_eq!(shop_web["target"], web.as_str());
        assert_eq!(shop_web["canary"][0]["target"], next.as_str());
        assert_eq!(shop_web["annotations"]["floe.app"], "shop");

        // The canary answers about 30 % of the requests, the target the rest.
        let (web_before, next_before) = (calls(&lattice, &web).await, calls(&lattice, &next).await);
        for _ in 0..200 {
            assert_eq!(status(&http, &url, "shop.example.com", "/x").await, 200);
        }
        let web_calls = calls(&lattice, &web).await - web_before;
        let next_calls = calls(&lattice, &next).await - next_before;
        assert_eq!(web_calls + next_calls, 200);
        // 60 expected; a binomial's deviation is ~6.5.
        assert!(
            (30..=95).contains(&next_calls),
            "the canary's share: {next_calls} of 200"
        );

        // The CLI does not change a route an app keeps.
        let refused = fails(
            &cli,
            lattice.args(&[
                "ingress", "put", "shop-web", "--path", "/", "--target", &web,
            ]),
        );
        assert!(
            refused.contains("belongs to app shop") && refused.contains("manifest"),
            "{refused}"
        );
        let refused = fails(&cli, lattice.args(&["ingress", "del", "shop-health"]));
        assert!(refused.contains("belongs to app shop"), "{refused}");
        // A route of its own may name an app's component.
        cli.ok(lattice.args(&[
            "ingress",
            "put",
            "extra",
            "--path",
            "/extra",
            "--target",
            "shop/web-next",
        ]));
        let extra = cli.json(lattice.args(&["ingress", "list"]));
        let extra = extra
            .as_array()
            .expect("a list")
            .iter()
            .find(|r| r["name"] == "extra")
            .cloned()
            .expect("extra");
        assert_eq!(extra["target"], next.as_str());
        let unknown = fails(
            &cli,
            lattice.args(&[
                "ingress", "put", "nope", "--path", "/nope", "--target", "shop/db",
            ]),
        );
        assert!(
            unknown.contains("app shop runs no actor as component `db`"),
            "{unknown}"
        );

        // A route dropped from the manifest is deleted.
        assert_eq!(status(&http, &url, "any", "/healthz").await, 200);
        apply_and_wait(&lattice, &cli, "shop", &manifest(&web_path, &next_path, 1)).await;
        wait_for(
            "the dropped route is gone",
            Duration::from_secs(5),
            || async { status(&http, &url, "any", "/healthz").await == 404 },
        )
        .await;
        // A version with no routes at all: its last route goes at the
        // leader's next sweep (every tenth pass, 300 ms apart here).
        apply_and_wait(&lattice, &cli, "shop", &manifest(&web_path, &next_path, 0)).await;
        wait_for(
            "the app's last route is gone",
            Duration::from_secs(10),
            || async { status(&http, &url, "shop.example.com", "/").await == 404 },
        )
        .await;

        // The app's routes go with the app; the hand-made one stays.
        apply_and_wait(
            &lattice,
            &cli,
            "shop",
            &manifest(&web_path, &next_path, 1).replace("version: \"2\"", "version: \"4\""),
        )
        .await;
        wait_for("shop-web serves again", Duration::from_secs(5), || async {
            status(&http, &url, "shop.example.com", "/").await == 200
        })
        .await;
        cli.ok(lattice.args(&["app", "delete", "shop"]));
        wait_for(
            "the app's routes are gone",
            Duration::from_secs(15),
            || async {
                let listed = cli.json(lattice.args(&["ingress", "list"]));
                let names: Vec<&str> = listed
                    .as_array()
                    .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
                    .unwrap_or_default();
                names == ["extra"]
            },
        )
        .await;
        wait_for("shop-web stops serving", Duration::from_secs(5), || async {
            status(&http, &url, "shop.example.com", "/").await == 404
        })
        .await;
    })
    .await;
}
