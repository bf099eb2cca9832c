//! The host's single wasmtime `Engine`: pooling allocator sized from the
//! configuration, copy-on-write memory images, epoch interruption driven by
//! a ticker thread, and the shared compile cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};

use super::cache::CompileCache;
use super::code::CodeRegistry;
use super::error::RuntimeError;
use super::state::InstanceState;

/// How often the epoch advances: the granularity of invocation deadlines.
/// Epoch ticks a guest may run before it yields to the executor (and its
/// deadline is checked).
pub(crate) const YIELD_EVERY_TICKS: u64 = 2;

pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Linear memory per slot reset in place rather than decommitted: covers a
/// Rust guest's shadow stack (the first MiB) and the start of its heap.
const KEEP_RESIDENT: usize = 2 << 20;

/// Limits that size the engine and every instance.
#[derive(Debug, Clone)]
pub struct RuntimeLimits {
    /// Pool slots for component instances, across all actors.
    pub max_instances: u32,
    /// Linear memory one instance may grow to, in bytes.
    pub max_memory_per_instance: u64,
    /// Where compiled code is cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Calls one instance of an actor may serve before it is replaced
    /// (`--reuse`); 0 or 1: a fresh instance for every call.
    pub reuse: u32,
    /// How instances of WASI 0.3 actors run several calls at once.
    pub shared: super::SharedLimits,
}

/// The engine, its limits and its cache; cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) limits: RuntimeLimits,
    pub(crate) cache: Arc<CompileCache>,
    pub(crate) code: Arc<CodeRegistry>,
    /// Idle instances all warm pools together may keep (`--reuse`).
    pub(crate) idle_budget: Arc<super::warm::IdleBudget>,
    /// Kept alive with the runtime; the ticker stops when the last clone drops.
    _ticker: Arc<Ticker>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    pub fn new(limits: RuntimeLimits) -> Result<Self, RuntimeError> {
        let engine = Engine::new(&engine_config(&limits))
            .map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let cache = CompileCache::open(&engine, limits.cache_dir.clone())?;
        let code = CodeRegistry::new(&engine).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let ticker = Ticker::start(engine.clone());
        let idle_budget = Arc::new(super::warm::IdleBudget::new(
            usize::try_from(limits.max_instances / 2).unwrap_or(usize::MAX),
        ));
        Ok(Runtime {
            engine,
            limits,
            cache: Arc::new(cache),
            code: Arc::new(code),
            idle_budget,
            _ticker: Arc::new(ticker),
        })
    }

    /// A store for a new instance of any actor: its WASI state and the
    /// memory limit of one instance.
    pub(crate) fn new_store(&self) -> Store<InstanceState> {
        let mut store = Store::new(
            &self.engine,
            InstanceState::new(self.limits.max_memory_per_instance),
        );
        store.limiter(|state| &mut state.limits);
        store
    }

    /// Epoch ticks that cover `deadline` (at least one).
    pub fn ticks_for(&self, deadline: Duration) -> u64 {
        (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64 + 1
    }
}

fn engine_config(limits: &RuntimeLimits) -> Config {
    let slots = limits.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        // A component instance holds several core instances (the module and
        // the shims wit-component adds); memories and tables are per module.
        .total_core_instances(slots.saturating_mul(4))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
        .max_memory_size(usize::try_from(limits.max_memory_per_instance).unwrap_or(usize::MAX))
        // Recycling a slot with madvise, and the copy-on-write faults when
        // the next guest writes its image pages, each flush the TLB of every
        // CPU (measured: a third of the host's CPU under load). Instead keep
        // the low memory of each slot resident and reset only its dirty
        // pages in place (PAGEMAP_SCAN finds them on Linux ≥ 6.7; older
        // kernels memset the whole resident part).
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto)
        // Return each slot at once: a slot waiting in a decommit batch keeps
        // its memory image, and through it the module's whole compiled code,
        // so a dormant actor's code would stay mapped on an idle host
        // (batching measured no faster here: docs/benchmarks.md).
        .decommit_batch_size(1);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // WASI 0.3: async exports and imports, streams and futures.
        .wasm_component_model_async(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("floe-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the epoch ticker; deadlines will not interrupt guests");
        }
        Ticker { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
