//! Capability providers as real child processes of a real host: started
//! with their host data, linked to an actor, answering its calls with the
//! wire mapping, restarted after SIGKILL, stopped cleanly; and executables
//! that are missing, not executable, exit at once or never become healthy
//! are refused with the reason.

use std::time::{Duration, Instant};

use floe_tests::{FloeCli, paths, with_timeout};
use floe_wire::control::ProviderHealth;
use floe_wire::{Encoding, ErrorKind, EventType, Link};
use serde_json::json;

use crate::lattice::{Lattice, invocation_kind, next_event, provider_request, sigkill};

const LIMIT: Duration = Duration::from_secs(100);
const FAST: [&str; 4] = [
    "--provider-health-interval",
    "200ms",
    "--provider-shutdown-grace",
    "2s",
];

pub(crate) async fn welcome(
    lattice: &Lattice,
    front: &str,
    name: &str,
    formal: bool,
) -> Result<serde_json::Value, floe_ctl::CtlError> {
    let args = serde_json::to_vec(&json!([[name], formal])).expect("json");
    let bytes = lattice
        .client
        .call(front, "acme:greet/front.welcome", args, Encoding::Json)
        .await?;
    Ok(serde_json::from_slice(&bytes).expect("json"))
}

fn alive(pid: u32) -> bool {
    // A zombie would still have a /proc entry; the host reaps its children.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_serves_linked_actors_restarts_after_a_kill_and_stops() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &FAST).await;
        let front = lattice.start(&host, "front").await;
        let started = lattice
            .client
            .start_provider(
                host.id(),
                provider_request(&paths::bin("greeter-native").expect("built")),
            )
            .await
            .unwrap_or_else(|e| panic!("provider starts: {e}\n{}", host.log()));
        assert_eq!(started.name, "greeter-native");
        assert!(started.provider_id.starts_with('V'));
        let provider = started.provider_id.clone();
        let again = lattice
            .client
            .start_provider(
                host.id(),
                provider_request(&paths::bin("greeter-native").expect("built")),
            )
            .await
            .expect("a second start is a no-op");
        assert!(again.already_running && again.provider_id == provider);

        // Linked like an actor; the provider decodes and encodes the
        // interface's records, variants, enums and results with plain serde.
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        let flags = [
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--window",
            "300ms",
        ];
        // By name, like an actor.
        cli.ok([
            "link",
            "put",
            "front",
            "greeter-native",
            "acme:greet/greeter",
        ]
        .iter()
        .chain(&flags));
        let links = lattice.client.links().await.expect("links");
        assert_eq!(
            links,
            vec![Link::new(&front, &provider, "acme:greet", &["greeter"])]
        );
        let greeted = retry(|| welcome(&lattice, &front, "Ada", false)).await;
        assert_eq!(greeted, json!({"ok": ["Hello from native code, Ada!"]}));
        let formal = welcome(&lattice, &front, "Dr Grace", true)
            .await
            .expect("formal");
        assert_eq!(
            formal,
            json!({"ok": ["Good day from native code, Dr Grace."]})
        );
        let refused = welcome(&lattice, &front, "", false)
            .await
            .expect("typed err");
        assert_eq!(
            refused,
            json!({"err": "the greeter refused ``: a person needs a name"})
        );

        // SIGKILL: the host starts it again, with an event, and calls resume.
        let mut restarted = lattice.events(EventType::ProviderRestarted).await;
        let inv = healthy_inventory(&lattice, host.id()).await;
        let first = &inv.providers[0];
        assert_eq!(first.health, ProviderHealth::Healthy, "{first:?}");
        let pid = first.pid.expect("a pid");
        sigkill(pid);
        let event = next_event(&mut restarted).await;
        assert_eq!(event["data"]["provider_id"], provider.as_str(), "{event}");
        let resumed = retry(|| welcome(&lattice, &front, "again", false)).await;
        assert_eq!(resumed, json!({"ok": ["Hello from native code, again!"]}));
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        let second = &inv.providers[0];
        assert_eq!(second.restarts, 1, "{second:?}");
        let new_pid = second.pid.expect("a pid");
        assert_ne!(new_pid, pid);
        assert!(!alive(pid), "the killed process was reaped");

        // Stopped by name from the CLI: gone, and calls fail at once.
        let cli = FloeCli::for_lattice(&lattice.name).expect("cli");
        cli.ok([
            "stop",
            "provider",
            "greeter-native",
            "--nats-url",
            lattice.nats.url(),
            "--lattice",
            &lattice.name,
            "--window",
            "300ms",
        ]);
        assert!(!alive(new_pid), "the provider exited");
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        assert!(inv.providers.is_empty(), "{:?}", inv.providers);
        let err = welcome(&lattice, &front, "Ada", false)
            .await
            .expect_err("no provider");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::NotFound), "{err}");
        assert!(
            host.log().contains("provider serving"),
            "its output goes to the host log"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_provider_executables_are_refused_with_the_reason() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice
            .host(
                &[],
                &[
                    "--provider-start-timeout",
                    "5s",
                    "--provider-shutdown-grace",
                    "1s",
                ],
            )
            .await;
        let dir = tempfile::tempdir().expect("dir");
        let script = |name: &str, body: &str, executable: bool| {
            use std::os::unix::fs::PermissionsExt as _;
            let path = dir.path().join(name);
            std::fs::write(&path, body).expect("write");
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            path
        };
        let refusal = |path: std::path::PathBuf| {
            let client = lattice.client.clone();
            let host = host.id().to_owned();
            async move {
                client
                    .start_provider(&host, provider_request(&path))
                    .await
                    .expect_err("refused")
                    .to_string()
            }
        };
        let missing = refusal(dir.path().join("nowhere")).await;
        assert!(missing.contains("does not exist"), "{missing}");
        let plain = refusal(script("plain", "#!/bin/sh\n", false)).await;
        assert!(plain.contains("not executable"), "{plain}");
        let quits = refusal(script(
            "quits",
            "#!/bin/sh\necho 'boom: no config' >&2\nexit 3\n",
            true,
        ))
        .await;
        assert!(
            quits.contains("exited") && quits.contains("boom: no config"),
            "{quits}"
        );
        let started = Instant::now();
        let silent = refusal(script("silent", "#!/bin/sh\nexec /bin/sleep 60\n", true)).await;
        assert!(silent.contains("did not answer a health check"), "{silent}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "bounded by the start timeout"
        );
        let inv = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        assert!(inv.providers.is_empty(), "{:?}", inv.providers);
    })
    .await;
}

/// The host's inventory once its first provider reports healthy.
async fn healthy_inventory(lattice: &Lattice, host: &str) -> floe_wire::control::HostInventory {
    let started = Instant::now();
    loop {
        let inv = lattice.client.inventory(host).await.expect("inventory");
        if inv
            .providers
            .first()
            .is_some_and(|p| p.health == ProviderHealth::Healthy)
        {
            return inv;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never healthy: {:?}",
            inv.providers
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn retry<F, Fut>(call: F) -> serde_json::Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, floe_ctl::CtlError>>,
{
    let started = Instant::now();
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e) if started.elapsed() > Duration::from_secs(20) => panic!("never succeeded: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_written_in_python_serves_linked_actors() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &FAST).await;
        let front = lattice.start(&host, "front").await;
        let script =
            paths::workspace_root().join("examples/providers/python-greeter/python-greeter");
        let started = lattice
            .client
            .start_provider(host.id(), provider_request(&script))
            .await
            .unwrap_or_else(|e| panic!("the Python provider starts: {e}\n{}", host.log()));
        assert_eq!(started.name, "python-greeter");
        lattice
            .client
            .put_link(&Link::new(
                &front,
                &started.provider_id,
                "acme:greet",
                &["greeter"],
            ))
            .await
            .expect("link put");
        let greeted = retry(|| welcome(&lattice, &front, "Ada", false)).await;
        assert_eq!(greeted, json!({"ok": ["Hello from Python, Ada!"]}));
        let formal = welcome(&lattice, &front, "Dr Grace", true)
            .await
            .expect("formal");
        assert_eq!(formal, json!({"ok": ["Good day from Python, Dr Grace."]}));
        let refused = welcome(&lattice, &front, "", false)
            .await
            .expect("typed err");
        assert_eq!(
            refused,
            json!({"err": "the greeter refused ``: a person needs a name"})
        );
        let inv = healthy_inventory(&lattice, host.id()).await;
        let pid = inv.providers[0].pid.expect("pid");
        lattice
            .client
            .stop_provider(host.id(), &started.provider_id)
            .await
            .expect("stops");
        assert!(!alive(pid), "it exited on the shutdown request");
        assert!(
            host.log().contains("python-greeter serving"),
            "its stderr reaches the host log"
        );
    })
    .await;
}
