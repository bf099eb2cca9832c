//! What one instance's `Store` holds: a WASI context that grants nothing
//! dangerous (no environment, no preopened directories, no network
//! addresses), memory limits, captured stdout/stderr and `wasi:logging`
//! lines for the log, the actor's config for `wasi:config`, and the
//! `wasi:http` context with its hooks (outgoing requests only when claimed).

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use std::sync::Arc;

use super::caller::CallerContext;
use super::http_hooks::HttpHooks;
use super::log_lines::LoggedLines;
use super::output::CappedOutput;

/// The most output one invocation keeps for the log (per stream); the rest
/// is dropped, never refused.
const OUTPUT_CAPACITY: usize = 64 << 10;

pub struct InstanceState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) stdout: CappedOutput,
    pub(crate) stderr: CappedOutput,
    /// The invocation this instance serves, for imports routed by link.
    pub(crate) caller: Option<Arc<CallerContext>>,
    /// The actor's config, for `wasi:config/store`.
    pub(crate) config: Arc<super::actor_config::ActorConfig>,
    /// What the guest logged through `wasi:logging`.
    pub(crate) logged: LoggedLines,
    http: WasiHttpCtx,
    /// What `wasi:http` may do for this invocation.
    pub(crate) http_hooks: HttpHooks,
}

impl InstanceState {
    pub fn new(max_memory: u64) -> Self {
        let stdout = CappedOutput::new(OUTPUT_CAPACITY);
        let stderr = CappedOutput::new(OUTPUT_CAPACITY);
        // Defaults grant no env, args, preopens, stdin or socket addresses;
        // sockets cannot even be created, so a guest cannot use up the
        // host's file descriptors.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(max_memory).unwrap_or(usize::MAX))
            .trap_on_grow_failure(false)
            .build();
        InstanceState {
            wasi,
            table: ResourceTable::new(),
            limits,
            stdout,
            stderr,
            caller: None,
            config: Arc::default(),
            logged: LoggedLines::default(),
            http: WasiHttpCtx::new(),
            http_hooks: HttpHooks::default(),
        }
    }
}

impl InstanceState {
    /// Forgets what earlier calls wrote and logged (a store serving
    /// another call).
    pub fn forget_output(&mut self) {
        self.stdout.clear();
        self.stderr.clear();
        self.logged.clear();
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}
