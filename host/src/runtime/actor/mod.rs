//! A loaded actor — verified claims, its (shared) compiled code, and the
//! instances kept warm for it (`warm`, with `--reuse`) — and one
//! invocation: on a warm instance when one is idle, else a fresh one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_wire::{Answer, Claims, Encoding, ErrorKind, InvocationError};
use sha2::{Digest, Sha256};
use wasmtime::component::Val;
use wasmtime::component::types::ComponentItem;
use wasmtime::{Store, UpdateDeadline};

use super::blobs;
use super::caller::{CallerContext, Router};
use super::code::{CodeError, CodeOrigin, CompiledCode, P3_HANDLE};
use super::engine::{Runtime, YIELD_EVERY_TICKS};
use super::http;
use super::http_p3;
use super::imports;
use super::shared::{Job, JobContext, SharedPool, Work};
use super::state::InstanceState;
use super::warm::{Warm, WarmPool};
use crate::codec;

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
    /// Instances kept between calls (`--reuse`); `None`: fresh per call.
    warm: Option<WarmPool>,
    /// Instances running several calls of async exports at once (WASI
    /// 0.3); `None` for code without async exports.
    shared: Option<SharedPool>,
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
        let has_async = code.http_p3.is_some() || code.exports.values().any(|f| f.is_async);
        let shared = has_async
            .then(|| {
                SharedPool::new(
                    runtime.limits.shared,
                    code.clone(),
                    &claims.sub,
                    &runtime.idle_budget,
                )
            })
            .flatten();
        Ok(LoadedActor {
            outgoing_http: claims.grants(imports::OUTGOING_HTTP),
            shared,
            claims,
            reference,
            digest,
            origin,
            code,
            warm: WarmPool::new(runtime.limits.reuse, &runtime.idle_budget),
        })
    }

    /// Whether this actor exports `operation` (version ignored).
    pub fn exports(&self, operation: &str) -> bool {
        let key = operation_key(operation);
        self.code.exports.contains_key(key.as_ref())
            || (key == floe_wire::http::HANDLE_OPERATION && self.code.http_p3.is_some())
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
        let mut store = runtime.new_store();
        store.set_epoch_deadline(runtime.ticks_for(Duration::from_secs(10)));
        self.code.pre.instantiate_async(&mut store).await?;
        Ok(())
    }

    /// Runs `operation` within `deadline` on a warm instance of this actor
    /// when one is idle, else on a fresh one. The incoming HTTP handler
    /// takes a wire request ([`floe_wire::http`]); every other operation
    /// takes its parameters in `encoding`. A warm instance goes back to the
    /// pool only after a call that ended normally and left nothing behind.
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
        let is_http = key == floe_wire::http::HANDLE_OPERATION;
        // A WASI 0.3 component serves HTTP through `wasi:http/handler`.
        let http_p3 = is_http && self.code.http_p3.is_some();
        let export = if http_p3 { P3_HANDLE } else { key.as_ref() };
        let func = self.code.exports.get(export).ok_or_else(|| {
            InvocationError::new(
                ErrorKind::NoSuchOperation,
                format!(
                    "actor {} exports no `{operation}` (it exports: {})",
                    self.claims.floe.name,
                    self.operations().join(", ")
                ),
            )
        })?;
        if let Some(pool) = self.shared.as_ref().filter(|_| http_p3 || func.is_async) {
            // Arguments are checked before any instance is used.
            let work = if http_p3 {
                Work::Http(Box::new(http::decode_request(payload)?))
            } else {
                Work::Func {
                    export: key.into_owned(),
                    params: codec::decode_params(encoding, payload, &func.params).map_err(|e| {
                        InvocationError::new(ErrorKind::BadArguments, e.to_string())
                    })?,
                    encoding,
                }
            };
            let started = Instant::now();
            let deadline_at = started + deadline;
            let job = Job {
                work,
                context: JobContext {
                    started,
                    deadline_at,
                    caller: self.caller_context(env, deadline_at),
                    config: env.config.clone(),
                    outgoing_http: self.outgoing_http,
                    invocation: env.invocation,
                    logs: env.logs.cloned(),
                },
            };
            return pool.run(runtime, job, env.instances).await;
        }
        // Arguments are checked before any instance is made.
        let blob = func
            .blob
            .and_then(|sig| Some((sig, blobs::decode_param(encoding, payload, sig.param)?)));
        let args = if http_p3 {
            Args::HttpP3(Box::new(http::decode_request(payload)?))
        } else if is_http {
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
        let (mut store, warm, served) = match self.warm.as_ref().and_then(WarmPool::take) {
            Some(warm) => (warm.store, Some(warm.instance), warm.served),
            None => (runtime.new_store(), None, 0),
        };
        let caller = self.prepare(&mut store, env, deadline_at);
        let call = async {
            let instance = match warm {
                Some(instance) => instance,
                None => {
                    if let Some(made) = env.instances {
                        made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    self.code.pre.instantiate_async(&mut store).await?
                }
            };
            let (answer, clean) = match args {
                Args::Http(request) => {
                    let (encoded, clean) =
                        http::handle(&mut store, instance, func.index, *request).await?;
                    (encoded.map(Answer::from), clean)
                }
                Args::HttpP3(request) => {
                    let indices = self.code.http_p3.as_ref().ok_or_else(|| {
                        wasmtime::Error::msg("the WASI 0.3 handler vanished after loading")
                    })?;
                    let encoded = http_p3::handle(&mut store, indices, instance, *request).await?;
                    let clean = store.data().table.is_empty();
                    (encoded.map(Answer::from), clean)
                }
                Args::Blob(sig, arg) => {
                    let f = instance.get_func(&mut store, func.index).ok_or_else(|| {
                        wasmtime::Error::msg("export vanished after instantiation")
                    })?;
                    let result = blobs::call(&mut store, f, sig, arg).await?;
                    let clean = store.data().table.is_empty();
                    (
                        blobs::encode_result(encoding, result).map(Answer::from),
                        clean,
                    )
                }
                Args::Values(params) => {
                    let f = instance.get_func(&mut store, func.index).ok_or_else(|| {
                        wasmtime::Error::msg("export vanished after instantiation")
                    })?;
                    let mut results = vec![Val::Bool(false); func.results.len()];
                    f.call_async(&mut store, &params, &mut results).await?;
                    // The function's own failure: its `result` came back `err`.
                    let err_case = matches!(results.first(), Some(Val::Result(Err(_))));
                    let clean = store.data().table.is_empty();
                    let answer = codec::encode_results(encoding, &results, &func.results)
                        .map(|bytes| Answer { bytes, err_case })
                        .map_err(|e| InvocationError::new(ErrorKind::Internal, e.to_string()));
                    (answer, clean)
                }
            };
            // Only an instance whose call ended normally and left nothing
            // behind may serve another. A WASI 0.3 call may leave guest
            // tasks running after it answers (in the store's own state,
            // which the table does not show): its instance is not reused.
            let reusable = (clean && !func.is_async && answer.is_ok()).then_some(instance);
            Ok::<_, wasmtime::Error>((answer, reusable))
        };
        let mut reusable = None;
        let outcome = match tokio::time::timeout(deadline, call).await {
            Ok(Ok((encoded, instance))) => {
                reusable = instance;
                encoded
            }
            // A failed routed call aborts the guest; report that failure
            // (naming the interface and link, with the callee's cause).
            Ok(Err(e)) => Err(caller
                .as_ref()
                .and_then(|c| c.take_failure())
                .unwrap_or_else(|| super::trap::trap_error(&e, store.data(), Some(deadline)))),
            Err(_) => Err(InvocationError::new(
                ErrorKind::TimedOut,
                format!("no answer within {} ms", deadline.as_millis()),
            )),
        };
        super::logging::emit(
            store.data(),
            &self.claims.sub,
            env.invocation,
            started,
            env.logs,
        );
        if let (Some(pool), Some(instance)) = (&self.warm, reusable) {
            pool.give_back(Warm {
                store,
                instance,
                served,
            });
        }
        outcome
    }

    /// Instances of this actor kept warm and idle now.
    pub fn warm_instances(&self) -> usize {
        self.warm.as_ref().map_or(0, WarmPool::idle)
    }

    /// The caller context routed imports use, for code that has them.
    fn caller_context(
        &self,
        env: &CallEnv<'_>,
        deadline_at: Instant,
    ) -> Option<Arc<CallerContext>> {
        env.router.filter(|_| self.code.routes).map(|router| {
            Arc::new(CallerContext {
                actor_id: self.claims.sub.clone(),
                link_name: std::sync::Mutex::new(floe_wire::link::DEFAULT_LINK_NAME.to_owned()),
                deadline_at,
                trace: env.trace.cloned(),
                router: router.clone(),
                failure: std::sync::Mutex::new(None),
            })
        })
    }

    /// Readies `store` for one invocation ending at `deadline_at` (a warm
    /// store forgets its last call's output and context); returns the
    /// caller context its routed imports use (when it has any).
    fn prepare(
        &self,
        store: &mut Store<InstanceState>,
        env: &CallEnv<'_>,
        deadline_at: Instant,
    ) -> Option<Arc<CallerContext>> {
        // Only code with routed imports needs to know who calls and how long
        // is left; everything else skips this per-call allocation.
        let caller = self.caller_context(env, deadline_at);
        let state = store.data_mut();
        state.forget_output();
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
        caller
    }
}

/// An invocation's arguments, decoded.
enum Args {
    Values(Vec<Val>),
    /// One byte list or string in, by the typed fast path (`blobs`).
    Blob(blobs::BlobSignature, blobs::Blob),
    Http(Box<http::IncomingRequest>),
    /// For WASI 0.3's `wasi:http/handler`.
    HttpP3(Box<http::IncomingRequest>),
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
    /// Counts the instances made for calls (a warm one is not counted
    /// again).
    pub instances: Option<&'a std::sync::atomic::AtomicU64>,
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
mod tests;
