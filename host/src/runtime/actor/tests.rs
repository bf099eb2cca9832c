//! The loaded actor: imports checked against claims, operations by key,
//! code unmapped with its last actor, instance reuse, WASI versions.

use super::*;
use crate::runtime::RuntimeLimits;
use crate::runtime::imports::test_claims;

#[test]
fn imports_are_checked_against_claims_before_linking() {
    let runtime = Runtime::new(RuntimeLimits {
        max_instances: 4,
        max_memory_per_instance: 1 << 20,
        cache_dir: None,
        reuse: 0,
        shared: Default::default(),
    })
    .expect("runtime");
    let component =
        wat::parse_str(r#"(component (import "wasi:keyvalue/store@0.2.0-draft" (instance)))"#)
            .expect("component");
    let err = LoadedActor::load(&runtime, Some(&component), test_claims(&[]), "t".into())
        .expect_err("unclaimed import refused");
    let text = err.to_string();
    assert!(text.contains("wasi:keyvalue/store@0.2.0-draft"), "{text}");
    assert!(text.contains("--cap wasi:keyvalue/store"), "{text}");
    // Shared code is checked again for each actor's own claims.
    LoadedActor::load(
        &runtime,
        Some(&component),
        test_claims(&["wasi:keyvalue"]),
        "t".into(),
    )
    .expect("claimed: linked to the host's wasi:keyvalue");
    // Outgoing HTTP links without a claim: each request is refused at
    // call time instead.
    let http =
        wat::parse_str(r#"(component (import "wasi:http/outgoing-handler@0.2.0" (instance)))"#)
            .expect("component");
    let unclaimed =
        LoadedActor::load(&runtime, Some(&http), test_claims(&[]), "t".into()).expect("links");
    assert!(!unclaimed.outgoing_http);
    let claimed = LoadedActor::load(
        &runtime,
        Some(&http),
        test_claims(&["wasi:http/outgoing-handler"]),
        "t".into(),
    )
    .expect("links");
    assert!(claimed.outgoing_http);
    let plain = wat::parse_str("(component)").expect("component");
    let ok =
        LoadedActor::load(&runtime, Some(&plain), test_claims(&[]), "t".into()).expect("loads");
    assert!(ok.operations().is_empty());
}

#[test]
fn operations_ignore_versions() {
    assert_eq!(
        operation_key("floe:examples/echo.echo"),
        "floe:examples/echo.echo"
    );
    assert_eq!(
        operation_key("floe:examples/echo@0.1.0.echo"),
        "floe:examples/echo.echo"
    );
    assert_eq!(operation_key("run"), "run");
}

fn cwasm_mapped(dir: &std::path::Path) -> bool {
    std::fs::read_to_string("/proc/self/maps")
        .expect("maps")
        .lines()
        .any(|l| l.contains(dir.to_str().expect("utf-8")) && l.contains(".cwasm"))
}

#[tokio::test]
async fn dropping_the_last_actor_of_some_code_unmaps_it() {
    let dir = tempfile::tempdir().expect("dir");
    let runtime = Runtime::new(RuntimeLimits {
        max_instances: 4,
        max_memory_per_instance: 1 << 20,
        cache_dir: Some(dir.path().to_owned()),
        reuse: 0,
        shared: Default::default(),
    })
    .expect("runtime");
    let component = wat::parse_str(
        r#"(component
             (core module $m (memory (export "mem") 1) (data (i32.const 0) "hi") (func (export "f")))
             (core instance $i (instantiate $m)))"#,
    )
    .expect("component");
    let actor =
        LoadedActor::load(&runtime, Some(&component), test_claims(&[]), "t".into()).expect("loads");
    drop(actor);
    // From the cache alone, and instantiated: the instance's memory
    // slot holds the code's image until the slot is returned.
    let actor = LoadedActor::load(&runtime, None, test_claims(&[]), "t".into())
        .expect("the compile cache holds it");
    actor
        .instantiate_once(&runtime)
        .await
        .expect("instantiates");
    assert!(
        cwasm_mapped(dir.path()),
        "served from the mapped cache file"
    );
    drop(actor);
    assert!(
        !cwasm_mapped(dir.path()),
        "the code is unmapped with its last actor"
    );
}

/// A component counting its calls in a global, and one export that traps.
const COUNTER: &str = r#"(component
  (core module $m
    (global $n (mut i32) (i32.const 0))
    (func (export "count") (result i32)
      global.get $n i32.const 1 i32.add global.set $n global.get $n)
    (func (export "trap") unreachable))
  (core instance $i (instantiate $m))
  (func (export "count") (result u32) (canon lift (core func $i "count")))
  (func (export "trap") (canon lift (core func $i "trap"))))"#;

async fn call(
    actor: &LoadedActor,
    runtime: &Runtime,
    made: &std::sync::atomic::AtomicU64,
    operation: &str,
) -> Result<String, InvocationError> {
    let config = Arc::default();
    let env = CallEnv {
        invocation: uuid::Uuid::nil(),
        trace: None,
        router: None,
        config: &config,
        logs: None,
        instances: Some(made),
    };
    actor
        .invoke(
            runtime,
            operation,
            Encoding::Json,
            b"[]",
            Duration::from_secs(5),
            &env,
        )
        .await
        .map(|a| String::from_utf8_lossy(&a.bytes).into_owned())
}

fn counter(reuse: u32) -> (Runtime, LoadedActor) {
    let runtime = Runtime::new(RuntimeLimits {
        max_instances: 4,
        max_memory_per_instance: 1 << 20,
        cache_dir: None,
        reuse,
        shared: Default::default(),
    })
    .expect("runtime");
    let component = wat::parse_str(COUNTER).expect("component");
    let actor =
        LoadedActor::load(&runtime, Some(&component), test_claims(&[]), "t".into()).expect("loads");
    (runtime, actor)
}

#[tokio::test]
async fn instances_are_fresh_per_call_unless_reused_and_replaced_after_n_calls_or_a_trap() {
    use std::sync::atomic::{AtomicU64, Ordering};
    // The default: every call starts from a fresh instance.
    let (runtime, actor) = counter(0);
    let made = AtomicU64::new(0);
    for _ in 0..3 {
        assert_eq!(
            call(&actor, &runtime, &made, "count").await.expect("call"),
            "1"
        );
    }
    assert_eq!(made.load(Ordering::Relaxed), 3);
    assert_eq!(actor.warm_instances(), 0);

    // `--reuse 3`: one instance serves three calls (its state carries
    // over), then a new one takes its place.
    let (runtime, actor) = counter(3);
    let made = AtomicU64::new(0);
    let mut seen = Vec::new();
    for _ in 0..7 {
        seen.push(call(&actor, &runtime, &made, "count").await.expect("call"));
    }
    assert_eq!(seen, ["1", "2", "3", "1", "2", "3", "1"]);
    assert_eq!(made.load(Ordering::Relaxed), 3);
    assert_eq!(actor.warm_instances(), 1);

    // A trap discards the instance: the next call gets a fresh one.
    let trapped = call(&actor, &runtime, &made, "trap")
        .await
        .expect_err("traps");
    assert_eq!(trapped.kind, ErrorKind::Trapped);
    assert_eq!(actor.warm_instances(), 0);
    assert_eq!(
        call(&actor, &runtime, &made, "count").await.expect("call"),
        "1"
    );
    assert_eq!(made.load(Ordering::Relaxed), 4);
}

#[test]
fn a_wasi_version_the_host_does_not_link_is_refused_naming_the_import() {
    let (runtime, _) = counter(0);
    // A release-candidate WASI 0.3 name (guests built before 0.3.0 final),
    // and a version no host has.
    for import in [
        "wasi:cli/environment@0.3.0-rc-2025-08-15",
        "wasi:cli/environment@0.4.0",
    ] {
        let component = wat::parse_str(format!(
            r#"(component
                 (import "{import}" (instance (export "get-arguments" (func (result (list string)))))))"#
        ))
        .expect("component");
        let err = LoadedActor::load(&runtime, Some(&component), test_claims(&[]), "t".into())
            .expect_err("refused");
        let text = err.to_string();
        assert!(text.contains(import), "{import}: {text}");
    }
    // WASI 0.3.0 itself links.
    let component = wat::parse_str(
        r#"(component
             (import "wasi:cli/environment@0.3.0" (instance (export "get-arguments" (func (result (list string)))))))"#,
    )
    .expect("component");
    LoadedActor::load(&runtime, Some(&component), test_claims(&[]), "t".into())
        .expect("WASI 0.3.0 links");
}
