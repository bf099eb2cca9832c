//! What an invocation logs: `wasi:logging` (always granted; bindings from
//! interfaces/wit/wasi-logging) and the guest's stdout/stderr, handed after
//! the call to the host log and to a [`LogSink`] (the host publishes to the
//! actor's log stream), each line tagged with the invocation id.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use super::state::InstanceState;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../interfaces/wit/wasi-logging",
        world: "wasi:logging/imports",
    });
}

use bindings::wasi::logging::logging::{Host, Level};

/// Lines one invocation may log through `wasi:logging`; more are dropped.
const MAX_LOG_LINES: usize = 1000;
/// Longest kept line.
const MAX_LINE: usize = 8 << 10;

/// One line an invocation logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `log` (wasi:logging), `stdout` or `stderr`.
    pub stream: &'static str,
    /// `trace` … `critical` for wasi:logging; `info` for output.
    pub level: &'static str,
    pub context: String,
    pub text: String,
}

/// Where an invocation's lines go besides the host log.
pub trait LogSink: Send + Sync + std::fmt::Debug + 'static {
    fn lines(&self, actor: &str, invocation: uuid::Uuid, lines: Vec<LogLine>);
}

/// The wasi:logging lines of one instance.
#[derive(Debug, Default)]
pub struct LoggedLines {
    lines: Vec<LogLine>,
    dropped: usize,
}

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

fn clip(mut text: String) -> String {
    if text.len() > MAX_LINE {
        let mut end = MAX_LINE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

impl Host for InstanceState {
    fn log(&mut self, level: Level, context: String, message: String) {
        let logged = &mut self.logged;
        if logged.lines.len() >= MAX_LOG_LINES {
            logged.dropped += 1;
            return;
        }
        logged.lines.push(LogLine {
            stream: "log",
            level: level_name(level),
            context: clip(context),
            text: clip(message),
        });
    }
}

/// Defines `wasi:logging/logging` in `linker`.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    bindings::wasi::logging::logging::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)
}

/// Writes what the invocation logged to the host log and hands it to `sink`.
pub fn emit(
    store: &Store<InstanceState>,
    actor: &str,
    invocation: uuid::Uuid,
    started: Instant,
    sink: Option<&Arc<dyn LogSink>>,
) {
    let state = store.data();
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
    lines.extend(state.logged.lines.iter().cloned());
    if state.logged.dropped > 0 {
        lines.push(LogLine {
            stream: "log",
            level: "warn",
            context: String::new(),
            text: format!("({} more log lines dropped)", state.logged.dropped),
        });
    }
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
