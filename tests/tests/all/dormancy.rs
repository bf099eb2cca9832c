//! Dormant replicas: an actor idle for its `idle-after` frees its compiled
//! code (inventory says dormant, the host's memory falls) and its next call
//! loads it again and succeeds — a cold call, not a failure; a dormant
//! actor whose compile-cache entry is gone fetches and verifies its
//! artifact again; one whose artifact now holds other code fails that call
//! with the cause named and reports itself, while other actors serve. An
//! actor started dormant is checked at its start and loads on its first call.

use std::path::Path;
use std::time::{Duration, Instant};

use floe_tests::{HostProcess, paths, start_request, with_timeout};
use floe_wire::ErrorKind;
use floe_wire::control::{ActorDescription, ReplicaState};

use crate::lattice::{Lattice, invocation_kind};

const LIMIT: Duration = Duration::from_secs(120);

/// The actor as its host reports it.
async fn described(lattice: &Lattice, host: &HostProcess, actor: &str) -> ActorDescription {
    let inventory = lattice
        .client
        .inventory(host.id())
        .await
        .expect("inventory");
    inventory
        .actors
        .into_iter()
        .find(|a| a.actor_id == actor)
        .unwrap_or_else(|| panic!("{actor} is in the inventory"))
}

/// Waits (polling its inventory) until `actor` is in `state`.
async fn wait_for_state(lattice: &Lattice, host: &HostProcess, actor: &str, state: ReplicaState) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while described(lattice, host, actor).await.state != state {
        assert!(
            Instant::now() < deadline,
            "{actor} never became {state:?}; host log:\n{}",
            host.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The resident KiB of a process's mappings of compiled code (`*.cwasm`
/// files from the compile cache), and whether there are any.
fn compiled_code_mapped(pid: u32) -> (bool, u64) {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
    let (mut mapped, mut rss, mut in_cwasm) = (false, 0, false);
    for line in smaps.lines() {
        let header = line.split_whitespace().next().is_some_and(|t| {
            t.contains('-') && t.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        });
        if header {
            in_cwasm = line.ends_with(".cwasm");
            mapped |= in_cwasm;
        } else if in_cwasm && let Some(kib) = line.strip_prefix("Rss:") {
            rss += kib
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (mapped, rss)
}

/// Resident memory of a process, in KiB: (all, file-backed).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("RssFile:"))
}

/// Starts the actor at `path` with an `idle-after`.
async fn start_idle(lattice: &Lattice, host: &HostProcess, path: &Path, idle: Duration) -> String {
    let mut req = start_request(path, None);
    req.idle_after_ms = Some(u64::try_from(idle.as_millis()).expect("small"));
    lattice
        .client
        .start_actor(host.id(), req)
        .await
        .unwrap_or_else(|e| panic!("starts: {e}\n{}", host.log()))
        .actor_id
}

fn remove_compiled(cache: &Path) -> usize {
    let mut removed = 0;
    for dir in std::fs::read_dir(cache).expect("cache dir").flatten() {
        let Ok(entries) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "cwasm") {
                std::fs::remove_file(entry.path()).expect("removed");
                removed += 1;
            }
        }
    }
    removed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_actor_goes_dormant_and_its_next_call_wakes_it() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &["--idle-check", "100ms"]).await;
        let before_start = rss_kib(host.pid());
        let idle = Duration::from_secs(2);
        let echo = start_idle(&lattice, &host, &paths::actor("echo").expect("echo"), idle).await;
        let last_call = Instant::now();
        lattice.assert_echo(&echo, "awake").await;
        let active = described(&lattice, &host, &echo).await;
        assert_eq!(active.state, ReplicaState::Active);
        assert_eq!(active.idle_after_ms, Some(2000));
        assert!(active.last_call_unix_ms.is_some());
        let active_rss = rss_kib(host.pid());
        let (mapped, code_rss) = compiled_code_mapped(host.pid());
        assert!(mapped, "an active actor's code is mapped from the compile cache");

        wait_for_state(&lattice, &host, &echo, ReplicaState::Dormant).await;
        let slept_after = last_call.elapsed();
        assert!(
            slept_after >= idle,
            "dormant {slept_after:?} after its last call, before its idle-after"
        );
        let dormant_rss = rss_kib(host.pid());
        eprintln!(
            "host RSS KiB (all, file-backed): before start {before_start:?}, active {active_rss:?} ({code_rss} KiB of it compiled code), dormant {dormant_rss:?}"
        );
        assert_eq!(
            compiled_code_mapped(host.pid()),
            (false, 0),
            "a dormant actor's compiled code is unmapped, every page of it"
        );

        // Eight calls at once find it dormant: one wake, and all of them
        // wait for it rather than fail.
        let cold = Instant::now();
        let calls = (0..8).map(|i| {
            let lattice = &lattice;
            let echo = &echo;
            async move {
                lattice.assert_echo(echo, &format!("woken {i}")).await;
                cold.elapsed()
            }
        });
        let latencies = futures::future::join_all(calls).await;
        eprintln!(
            "cold calls of a dormant actor (8 at once): first answered in {:?}, last in {:?}",
            latencies.iter().min().expect("eight"),
            latencies.iter().max().expect("eight")
        );
        let woken = described(&lattice, &host, &echo).await;
        assert_eq!(woken.state, ReplicaState::Active);
        assert_eq!(woken.cold_starts, 1, "one wake for every call that waited");
        assert_eq!(woken.calls, 9);
        assert_eq!(woken.wake_failure, None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dormant_actor_fetches_its_artifact_again_and_names_a_changed_one() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &["--idle-check", "100ms"]).await;
        let files = tempfile::tempdir().expect("dir");
        let copy = files.path().join("echo.wasm");
        std::fs::copy(paths::actor("echo").expect("echo"), &copy).expect("copied");
        let idle = Duration::from_millis(500);
        let echo = start_idle(&lattice, &host, &copy, idle).await;
        // Another actor, never idle: it serves whatever happens to echo.
        let other = lattice.start(&host, "misbehave").await;
        lattice.assert_echo(&echo, "one").await;
        wait_for_state(&lattice, &host, &echo, ReplicaState::Dormant).await;

        // The compiled code is gone: the artifact is fetched, verified and
        // compiled again.
        assert!(remove_compiled(lattice.cache.path()) > 0, "code was cached");
        lattice.assert_echo(&echo, "two").await;
        assert_eq!(described(&lattice, &host, &echo).await.cold_starts, 1);
        wait_for_state(&lattice, &host, &echo, ReplicaState::Dormant).await;

        // Now the file holds other code: the call fails naming why, the
        // replica reports it, and other actors are untouched.
        remove_compiled(lattice.cache.path());
        std::fs::copy(paths::actor("greeter").expect("greeter"), &copy).expect("swapped");
        let err = lattice
            .call_json(&echo, crate::lattice::ECHO, serde_json::json!(["three"]))
            .await
            .expect_err("other code is not run");
        assert_eq!(invocation_kind(&err), Some(ErrorKind::Internal), "{err}");
        let text = format!("{err:#}");
        assert!(
            text.contains("could not be loaded") && text.contains("now holds other code"),
            "{text}"
        );
        let reported = described(&lattice, &host, &echo).await;
        assert_eq!(reported.state, ReplicaState::Dormant);
        assert!(reported.wake_failure.is_some(), "{reported:?}");
        lattice
            .call_json(&other, "floe:examples/misbehave.ok", serde_json::json!([1]))
            .await
            .unwrap_or_else(|e| panic!("the other actor serves: {e}"));

        // Calls right after a failed wake get its cause without loading again.
        let again = lattice
            .call_json(
                &echo,
                crate::lattice::ECHO,
                serde_json::json!(["three again"]),
            )
            .await
            .expect_err("still the other code");
        assert!(
            format!("{again:#}").contains("now holds other code"),
            "{again:#}"
        );

        // The right code back: a later call wakes it and the failure clears.
        std::fs::copy(paths::actor("echo").expect("echo"), &copy).expect("restored");
        let restored = Instant::now();
        loop {
            match lattice
                .call_json(&echo, crate::lattice::ECHO, serde_json::json!(["four"]))
                .await
            {
                Ok(answer) => {
                    assert_eq!(answer, serde_json::json!("four"));
                    break;
                }
                Err(e) => assert!(
                    restored.elapsed() < Duration::from_secs(10),
                    "never woke after the file was restored: {e}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let healed = described(&lattice, &host, &echo).await;
        assert_eq!(healed.state, ReplicaState::Active);
        assert_eq!(healed.wake_failure, None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_started_dormant_is_checked_at_start_and_loads_on_its_first_call() {
    with_timeout(LIMIT, async {
        let lattice = Lattice::new().await;
        let host = lattice.host(&[], &["--idle-after", "never"]).await;
        let mut req = start_request(&paths::actor("echo").expect("echo"), None);
        req.dormant = true;
        let echo = lattice
            .client
            .start_actor(host.id(), req)
            .await
            .unwrap_or_else(|e| panic!("starts dormant: {e}\n{}", host.log()))
            .actor_id;
        let started = described(&lattice, &host, &echo).await;
        assert_eq!(started.state, ReplicaState::Dormant);
        assert_eq!(started.cold_starts, 0);
        assert_eq!(started.idle_after_ms, None, "the host's `never`");
        assert_eq!(
            compiled_code_mapped(host.pid()),
            (false, 0),
            "a dormant start keeps no code in memory"
        );
        let cold = Instant::now();
        lattice.assert_echo(&echo, "first").await;
        eprintln!(
            "first call of an actor started dormant: {:?}",
            cold.elapsed()
        );
        let woken = described(&lattice, &host, &echo).await;
        assert_eq!(woken.state, ReplicaState::Active);
        assert_eq!(woken.cold_starts, 1);

        // Code whose imports its claims do not grant is refused at the
        // dormant start, as an active start refuses it, not at its first call.
        let files = tempfile::tempdir().expect("dir");
        let uncapped = files.path().join("uncapped.wasm");
        let counter = std::fs::read(paths::actor("counter").expect("counter")).expect("code");
        let (id, signed) = floe_tests::sign_as_new_actor(
            &counter,
            &floe_wire::KeyKind::Account.generate(),
            "uncapped",
            &[],
        )
        .expect("signs");
        std::fs::write(&uncapped, signed).expect("written");
        let mut req = start_request(&uncapped, None);
        req.dormant = true;
        let err = lattice
            .client
            .start_actor(host.id(), req)
            .await
            .expect_err("its imports are not claimed");
        let text = format!("{err:#}");
        assert!(text.contains("wasi:keyvalue"), "names the import: {text}");
        let inventory = lattice
            .client
            .inventory(host.id())
            .await
            .expect("inventory");
        assert!(
            inventory.actors.iter().all(|a| a.actor_id != id),
            "a refused start leaves nothing behind"
        );
    })
    .await;
}
