//! A loaded actor — verified claims and its (shared) compiled code — and
//! one invocation on a fresh instance.

use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_wire::{Answer, Claims, Encoding, ErrorKind, InvocationError};
use sha2::{Digest, Sha256};
use wasmtime::component::Val;
use wasmtime::component::types::ComponentItem;
use wasmtime::{Store, UpdateDeadline};

use super::blobs;
use super::caller::{CallerContext, Router};
use super::code::{CodeError, CodeOrigin, CompiledCode};
use super::engine::Runtime;
use super::http;
use super::imports;
use super::state::InstanceState;
use crate::codec;

/// Epoch ticks a guest may run before it yields to the executor (and its
/// deadline is checked).
const YIELD_EVERY_TICKS: u64 = 2;

/// An actor ready to serve: everything but the per-call instance.
pub struct LoadedActor {
    pub claims: Claims,
    pub reference: String,
    /// `sha256` hex of the code (without its claims section).
    pub digest: String,
    /// Whether the code was shared, read from the disk cache, or compiled.
    pub origin: CodeOrigin,
    code: Arc<CompiledCode>,
    /// The claims grant `wasi:http/outgoing-handler`.
    outgoing_http: bool,
}

impl std::fmt::Debug for LoadedActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedActor")
            .field("actor", &self.claims.sub)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

/// Why an actor cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Code(CodeError),
    /// Loaded without bytes, and the compile cache does not hold the code.
    #[error("the compiled code is not in the compile cache")]
    NotCached,
}

impl From<CodeError> for LoadError {
    fn from(e: CodeError) -> Self {
        match e {
            CodeError::NotCached => LoadError::NotCached,
            other => LoadError::Code(other),
        }
    }
}

impl LoadedActor {
    /// The key of the compiled code: the verified hash of the code without
    /// its claims, so the same code signed for several actors compiles once.
    pub fn code_digest(claims: &Claims, bytes: &[u8]) -> String {
        claims
            .floe
            .hash
            .strip_prefix("sha256:")
            .map_or_else(|| hex(&Sha256::digest(bytes)), str::to_owned)
    }

    /// Finds or compiles the code, and checks its imports against the
    /// claims. Without `bytes`, only code already loaded or in the compile
    /// cache will do ([`LoadError::NotCached`] otherwise). CPU-heavy when
    /// compiling: call from a blocking task.
    pub fn load(
        runtime: &Runtime,
        bytes: Option<&[u8]>,
        claims: Claims,
        reference: String,
    ) -> Result<Self, LoadError> {
        let digest = match bytes {
            Some(bytes) => Self::code_digest(&claims, bytes),
            None => claims
                .floe
                .hash
                .strip_prefix("sha256:")
                .ok_or(LoadError::NotCached)?
                .to_owned(),
        };
        let engine = &runtime.engine;
        let check = |component: &wasmtime::component::Component| {
            let ty = component.component_type();
            let imports = ty.imports(engine).map(|(name, ext)| imports::Import {
                name,
                uses_resources: match &ext.ty {
                    ComponentItem::ComponentInstance(instance) => instance
                        .exports(engine)
                        .any(|(_, e)| matches!(e.ty, ComponentItem::Resource(_))),
                    _ => false,
                },
            });
            imports::check(imports, &claims)
        };
        let (code, origin) =
            runtime
                .code
                .get_or_load(engine, &runtime.cache, bytes, &digest, &check)?;
        Ok(LoadedActor {
            outgoing_http: claims.grants(imports::OUTGOING_HTTP),
            claims,
            reference,
            digest,
            origin,
            code,
        })
    }

    /// Whether this actor exports `operation` (version ignored).
    pub fn exports(&self, operation: &str) -> bool {
        self.code
            .exports
            .contains_key(operation_key(operation).as_ref())
    }

    /// The operations this actor answers, sorted.
    pub fn operations(&self) -> Vec<String> {
        let mut ops: Vec<String> = self.code.exports.keys().cloned().collect();
        ops.sort();
        ops
    }

    /// Creates a store and a fresh instance, then drops both: what every
    /// call pays before the guest runs. For benchmarks.
    pub async fn instantiate_once(&self, runtime: &Runtime) -> Result<(), wasmtime::Error> {
        let mut store = Store::new(
            &runtime.engine,
            InstanceState::new(runtime.limits.max_memory_per_instance),
        );
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(runtime.ticks_for(Duration::from_secs(10)));
        self.code.pre.instantiate_async(&mut store).await?;
        Ok(())
    }

    /// Runs `operation` on a fresh instance within `deadline`. The
    /// incoming HTTP handler takes a wire request ([`floe_wire::http`]);
    /// every other operation takes its parameters in `encoding`.
    pub async fn invoke(
        &self,
        runtime: &Runtime,
        operation: &str,
        encoding: Encoding,
        payload: &[u8],
        deadline: Duration,
        env: &CallEnv<'_>,
    ) -> Result<Answer, InvocationError> {
        let key = operation_key(operation);
        let func = self.code.exports.get(key.as_ref()).ok_or_else(|| {
            InvocationError::new(
                ErrorKind::NoSuchOperation,
                format!(
                    "actor {} exports no `{operation}` (it exports: {})",
                    self.claims.floe.name,
                    self.operations().join(", ")
                ),
            )
        })?;
        // Arguments are checked before any instance is made.
        let blob = func
            .blob
            .and_then(|sig| Some((sig, blobs::decode_param(encoding, payload, sig.param)?)));
        let args = if key == floe_wire::http::HANDLE_OPERATION {
            Args::Http(Box::new(http::decode_request(payload)?))
        } else if let Some((sig, arg)) = blob {
            Args::Blob(sig, arg)
        } else {
            Args::Values(
                codec::decode_params(encoding, payload, &func.params)
                    .map_err(|e| InvocationError::new(ErrorKind::BadArguments, e.to_string()))?,
            )
        };
        let started = Instant::now();
        let deadline_at = started + deadline;
        let (mut store, caller) = self.store(runtime, env, deadline_at);
        let call = async {
            match args {
                Args::Http(request) => {
                    http::handle(&mut store, &self.code.pre, func.index, *request)
                        .await
                        .map(|encoded| encoded.map(Answer::from))
                }
                Args::Blob(sig, arg) => {
                    let instance = self.code.pre.instantiate_async(&mut store).await?;
                    let f = instance.get_func(&mut store, func.index).ok_or_else(|| {
                        wasmtime::Error::msg("export vanished after instantiation")
                    })?;
                    let result = blobs::call(&mut store, f, sig, arg).await?;
                    Ok(blobs::encode_result(encoding, result).map(Answer::from))
                }
                Args::Values(params) => {
                    let instance = self.code.pre.instantiate_async(&mut store).await?;
                    let f = instance.get_func(&mut store, func.index).ok_or_else(|| {
                        wasmtime::Error::msg("export vanished after instantiation")
                    })?;
                    let mut results = vec![Val::Bool(false); func.results.len()];
                    f.call_async(&mut store, &params, &mut results).await?;
                    // The function's own failure: its `result` came back `err`.
                    let err_case = matches!(results.first(), Some(Val::Result(Err(_))));
                    Ok(codec::encode_results(encoding, &results, &func.results)
                        .map(|bytes| Answer { bytes, err_case })
                        .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string())))
                }
            }
        };
        let outcome = match tokio::time::timeout(deadline, call).await {
            Ok(Ok(encoded)) => encoded,
            // A failed routed call aborts the guest; report that failure
            // (naming the interface and link, with the callee's cause).
            Ok(Err(e)) => Err(caller
                .as_ref()
                .and_then(|c| c.take_failure())
                .unwrap_or_else(|| trap_error(&e, &store, deadline))),
            Err(_) => Err(InvocationError::new(
                ErrorKind::TimedOut,
                format!("no answer within {} ms", deadline.as_millis()),
            )),
        };
        super::logging::emit(&store, &self.claims.sub, env.invocation, started, env.logs);
        outcome
    }

    /// A fresh store for one invocation ending at `deadline_at`, and the
    /// caller context its routed imports use (when it has any).
    fn store(
        &self,
        runtime: &Runtime,
        env: &CallEnv<'_>,
        deadline_at: Instant,
    ) -> (Store<InstanceState>, Option<Arc<CallerContext>>) {
        let mut store = Store::new(
            &runtime.engine,
            InstanceState::new(runtime.limits.max_memory_per_instance),
        );
        store.limiter(|state| &mut state.limits);
        // Only code with routed imports needs to know who calls and how long
        // is left; everything else skips this per-call allocation.
        let caller = env.router.filter(|_| self.code.routes).map(|router| {
            Arc::new(CallerContext {
                actor_id: self.claims.sub.clone(),
                link_name: std::sync::Mutex::new(floe_wire::link::DEFAULT_LINK_NAME.to_owned()),
                deadline_at,
                trace: env.trace.cloned(),
                router: router.clone(),
                failure: std::sync::Mutex::new(None),
            })
        });
        let state = store.data_mut();
        state.caller = caller.clone();
        state.config = env.config.clone();
        state.http_hooks = super::http_hooks::HttpHooks {
            outgoing_allowed: self.outgoing_http,
            deadline_at: Some(deadline_at),
        };
        // A guest that computes for long yields its thread to the executor
        // every few ticks, so it never starves other calls sharing the
        // worker; once its own deadline has passed it is interrupted.
        store.set_epoch_deadline(YIELD_EVERY_TICKS);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline_at {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(YIELD_EVERY_TICKS))
            }
        });
        (store, caller)
    }
}

/// An invocation's arguments, decoded.
enum Args {
    Values(Vec<Val>),
    /// One byte list or string in, by the typed fast path (`blobs`).
    Blob(blobs::BlobSignature, blobs::Blob),
    Http(Box<http::IncomingRequest>),
}

/// What an invocation runs with besides its payload.
#[derive(Debug, Clone)]
pub struct CallEnv<'a> {
    /// The envelope's id, which every log line carries.
    pub invocation: uuid::Uuid,
    /// The invocation's span (its routed calls join the trace).
    pub trace: Option<&'a floe_wire::trace::TraceContext>,
    /// Sends imports routed by link (none: such imports fail `no_link`).
    pub router: Option<&'a Arc<dyn Router>>,
    /// The actor's config (`wasi:config`).
    pub config: &'a Arc<super::actor_config::ActorConfig>,
    /// Where log lines go besides the host log.
    pub logs: Option<&'a Arc<dyn super::LogSink>>,
}

/// Maps a wasmtime failure to a typed error carrying the trap and whatever
/// the guest wrote to stderr (a Rust guest's panic message lands there).
fn trap_error(
    e: &wasmtime::Error,
    store: &Store<InstanceState>,
    deadline: Duration,
) -> InvocationError {
    let interrupted = matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    );
    if interrupted {
        return InvocationError::new(
            ErrorKind::TimedOut,
            format!(
                "the guest ran past its deadline of {} ms and was interrupted",
                deadline.as_millis()
            ),
        );
    }
    // Every slot of the host's pooling allocator is taken (all actors
    // together): the host is busy, the guest did nothing wrong.
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return InvocationError::new(
            ErrorKind::Busy,
            format!(
                "every instance slot of this host is in use ({e}); raise --max-instances or add hosts"
            ),
        );
    }
    let mut message = format!("{e:#}");
    let (stderr, _) = store.data().stderr.contents();
    let stderr = String::from_utf8_lossy(&stderr);
    let stderr = stderr.trim();
    if !stderr.is_empty() {
        message.push_str("; guest stderr: ");
        message.push_str(stderr);
    }
    InvocationError::new(ErrorKind::Trapped, message)
}

/// `ns:pkg/iface.func` without any `@version`; top-level functions by name.
/// Borrowed (no allocation per call) unless a version must be cut out.
pub fn operation_key(operation: &str) -> std::borrow::Cow<'_, str> {
    match operation.rsplit_once('.') {
        Some((iface, func)) if iface.contains('/') && iface.contains('@') => {
            std::borrow::Cow::Owned(format!("{}.{func}", imports::unversioned(iface)))
        }
        _ => std::borrow::Cow::Borrowed(operation),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::RuntimeLimits;
    use crate::runtime::imports::test_claims;

    #[test]
    fn imports_are_checked_against_claims_before_linking() {
        let runtime = Runtime::new(RuntimeLimits {
            max_instances: 4,
            max_memory_per_instance: 1 << 20,
            cache_dir: None,
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
        })
        .expect("runtime");
        let component = wat::parse_str(
            r#"(component
                 (core module $m (memory (export "mem") 1) (data (i32.const 0) "hi") (func (export "f")))
                 (core instance $i (instantiate $m)))"#,
        )
        .expect("component");
        let actor = LoadedActor::load(&runtime, Some(&component), test_claims(&[]), "t".into())
            .expect("loads");
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
}
