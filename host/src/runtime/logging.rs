//! What an invocation logs: `wasi:logging` (always granted; bindings from
//! interfaces/wit/wasi-logging) and the guest's stdout/stderr, handed after
//! the call to the host log and to a [`LogSink`] (the host publishes to the
//! actor's log stream), each line tagged with the invocation id.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasSelf, Linker};

use super::log_lines::{LogLine, LogSink, clip};
use super::state::InstanceState;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../interfaces/wit/wasi-logging",
        world: "wasi:logging/imports",
    });
}

use bindings::wasi::logging::logging::{Host, Level};

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
        Level::Critical => "critical",
    }
}

impl Host for InstanceState {
    fn log(&mut self, level: Level, context: String, message: String) {
        self.logged.push(level_name(level), context, message);
    }
}

/// Defines `wasi:logging/logging` in `linker`.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    bindings::wasi::logging::logging::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)
}

/// Writes what the invocation logged to the host log and hands it to `sink`.
pub fn emit(
    state: &InstanceState,
    actor: &str,
    invocation: uuid::Uuid,
    started: Instant,
    sink: Option<&Arc<dyn LogSink>>,
) {
    let mut lines = Vec::new();
    for (stream, pipe) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
        let (bytes, truncated) = pipe.contents();
        for line in String::from_utf8_lossy(&bytes).lines() {
            lines.push(LogLine {
                stream,
                level: "info",
                context: String::new(),
                text: clip(line.to_owned()),
            });
        }
        if truncated {
            lines.push(LogLine {
                stream,
                level: "warn",
                context: String::new(),
                text: format!("(output beyond {} bytes dropped)", bytes.len()),
            });
        }
    }
    state.logged.copy_into(&mut lines);
    if lines.is_empty() {
        return;
    }
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    for line in &lines {
        tracing::info!(
            actor,
            %invocation,
            stream = line.stream,
            level = line.level,
            context = %line.context,
            elapsed_us,
            "{}",
            line.text
        );
    }
    if let Some(sink) = sink {
        sink.lines(actor, invocation, lines);
    }
}
