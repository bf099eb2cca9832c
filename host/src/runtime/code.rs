//! Compiled code shared by every actor with the same code: the component,
//! its `InstancePre` on the host's one WASI linker, and its export table.
//!
//! Actors hold their code through an `Arc`; the registry keeps only weak
//! references, so the same code signed for a thousand actor ids is compiled,
//! linked and held once, and code that no actor uses any more is freed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker, Type};

use wasmtime_wasi_http::p3::bindings::ServiceIndices;

use super::cache::CompileCache;
use super::imports::ImportError;
use super::state::InstanceState;
use crate::codec;

/// WASI 0.3's HTTP handler, as the export table names it.
pub const P3_HANDLE: &str = "wasi:http/handler.handle";

/// One exported function, resolved once per code.
#[derive(Debug, Clone)]
pub struct ExportedFunc {
    pub index: ComponentExportIndex,
    pub params: Vec<(String, Type)>,
    pub results: Vec<Type>,
    /// Set when bytes and strings can take the typed fast path.
    pub blob: Option<super::blobs::BlobSignature>,
    /// A WASI 0.3 `async func`.
    pub is_async: bool,
}

/// Where a load found its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOrigin {
    /// Already loaded for another actor.
    Shared,
    /// Deserialized from the on-disk compile cache.
    DiskCache,
    /// Compiled now.
    Compiled,
}

/// Code ready to instantiate.
pub struct CompiledCode {
    pub component: Component,
    pub pre: InstancePre<InstanceState>,
    pub exports: HashMap<String, ExportedFunc>,
    /// Whether the code imports anything routed by link (calls of code that
    /// does not need no routing context).
    pub routes: bool,
    /// Set when the code exports WASI 0.3's `wasi:http/handler`: it serves
    /// HTTP requests through it.
    pub http_p3: Option<ServiceIndices>,
}

impl std::fmt::Debug for CompiledCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledCode")
            .field("exports", &self.exports.len())
            .finish_non_exhaustive()
    }
}

/// Why code could not be compiled or linked.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("cannot compile the component: {0}")]
    Compile(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("cannot link the component: {0}")]
    Link(String),
    #[error("the compiled code is not in the compile cache")]
    NotCached,
}

/// The live code of one engine, by code digest.
pub struct CodeRegistry {
    /// The host's one linker: WASI, plus every routed import seen so far
    /// (its functions take their types at call time, so one definition
    /// serves every component importing that interface).
    linker: Mutex<Linker<InstanceState>>,
    live: Mutex<HashMap<String, Weak<CompiledCode>>>,
}

impl std::fmt::Debug for CodeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRegistry").finish_non_exhaustive()
    }
}

impl CodeRegistry {
    /// A registry whose code links against WASI 0.2 and 0.3 (import class 1).
    pub fn new(engine: &Engine) -> Result<Self, CodeError> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        // WASI 0.3 beside 0.2 (their versions differ, so both link; a 0.3
        // component built from Rust still imports 0.2 through std).
        wasmtime_wasi::p3::add_to_linker(&mut linker)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        super::link_select::add_to_linker(&mut linker)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        super::logging::add_to_linker(&mut linker)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        super::keyvalue::add_to_linker(&mut linker)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        super::config::add_to_linker(&mut linker).map_err(|e| CodeError::Link(format!("{e:#}")))?;
        // Routed imports are defined as each component needing them is
        // loaded. A later component (an update, a restart after the code was
        // freed, another actor) importing an interface already defined
        // defines its functions again: the same dynamic functions, so
        // replacing them is harmless, and the functions that interface had
        // in the earlier component's version of it stay defined beside any
        // new ones. Only the routed definitions below ever shadow: WASI and
        // the host's own interfaces are defined above, before this is set.
        linker.allow_shadowing(true);
        Ok(CodeRegistry {
            linker: Mutex::new(linker),
            live: Mutex::new(HashMap::new()),
        })
    }

    /// The code for `bytes` (whose code digest is `digest`): shared when
    /// another actor holds it, else from the disk cache or compiled (without
    /// `bytes`: [`CodeError::NotCached`] when the cache misses). Every
    /// path runs `check_imports` (the claims of the actor asking) before the
    /// code is linked or handed out, so a refusal names the import.
    pub fn get_or_load(
        &self,
        engine: &Engine,
        disk: &CompileCache,
        bytes: Option<&[u8]>,
        digest: &str,
        check_imports: &dyn Fn(&Component) -> Result<(), ImportError>,
    ) -> Result<(Arc<CompiledCode>, CodeOrigin), CodeError> {
        if let Some(code) = self.lock().get(digest).and_then(Weak::upgrade) {
            check_imports(&code.component)?;
            return Ok((code, CodeOrigin::Shared));
        }
        let (component, cached) = disk
            .load_or_compile(engine, bytes, digest)
            .map_err(|e| CodeError::Compile(format!("{e:#}")))?
            .ok_or(CodeError::NotCached)?;
        check_imports(&component)?;
        let (pre, routes) = {
            let mut linker = self
                .linker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let routes = define_routed(&mut linker, engine, &component)?;
            let pre = linker
                .instantiate_pre(&component)
                .map_err(|e| CodeError::Link(format!("{e:#}")))?;
            (pre, routes)
        };
        let exports = export_table(engine, &component);
        let http_p3 = match exports.contains_key(P3_HANDLE) {
            false => None,
            true => match ServiceIndices::new(&pre) {
                Ok(indices) => Some(indices),
                Err(e) => {
                    return Err(CodeError::Link(format!(
                        "the component exports {P3_HANDLE} but not as WASI 0.3's wasi:http/handler: {e:#}"
                    )));
                }
            },
        };
        let code = Arc::new(CompiledCode {
            component,
            pre,
            exports,
            routes,
            http_p3,
        });
        let mut live = self.lock();
        live.retain(|_, weak| weak.strong_count() > 0);
        live.insert(digest.to_owned(), Arc::downgrade(&code));
        let origin = if cached {
            CodeOrigin::DiskCache
        } else {
            CodeOrigin::Compiled
        };
        Ok((code, origin))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<CompiledCode>>> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Defines (again, when an earlier component defined them) the component's
/// link-routed imports, and says whether it has any.
fn define_routed(
    linker: &mut Linker<InstanceState>,
    engine: &Engine,
    component: &Component,
) -> Result<bool, CodeError> {
    let mut routes = false;
    let ty = component.component_type();
    for (name, ext) in ty.imports(engine) {
        let ComponentItem::ComponentInstance(instance) = ext.ty else {
            continue;
        };
        // wasi:keyvalue is defined by the host but forwarded to a linked
        // provider: its calls need the caller's context too.
        if name.starts_with("wasi:keyvalue/") {
            routes = true;
        }
        if super::imports::class_of(name) != super::imports::ImportClass::Routed {
            continue;
        }
        routes = true;
        let mut scope = linker.root();
        let mut instance_linker = scope
            .instance(name)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
        super::route::define(&mut instance_linker, engine, name, &instance)
            .map_err(|e| CodeError::Link(format!("{e:#}")))?;
    }
    Ok(routes)
}

fn export_table(engine: &Engine, component: &Component) -> HashMap<String, ExportedFunc> {
    let mut table = HashMap::new();
    for (name, ext) in component.component_type().exports(engine) {
        match ext.ty {
            ComponentItem::ComponentFunc(f) => {
                if let Some(index) = component.get_export_index(None, name) {
                    table.insert(name.to_owned(), exported(index, &f));
                }
            }
            ComponentItem::ComponentInstance(inst) => {
                let Some(inst_index) = component.get_export_index(None, name) else {
                    continue;
                };
                for (fname, fext) in inst.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = fext.ty
                        && let Some(index) = component.get_export_index(Some(&inst_index), fname)
                    {
                        let key = format!("{}.{fname}", super::imports::unversioned(name));
                        table.insert(key, exported(index, &f));
                    }
                }
            }
            _ => {}
        }
    }
    table
}

fn exported(index: ComponentExportIndex, f: &ComponentFunc) -> ExportedFunc {
    let (params, results) = (codec::func_params(f), codec::func_results(f));
    ExportedFunc {
        index,
        blob: super::blobs::signature(&params, &results),
        is_async: f.async_(),
        params,
        results,
    }
}
