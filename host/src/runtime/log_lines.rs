//! The lines one invocation logged ([`LogLine`], [`LoggedLines`]: bounded
//! and clipped) and where they go besides the host log ([`LogSink`]).

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

impl LoggedLines {
    /// Keeps one `wasi:logging` line, clipped; past the bound, counts it.
    pub fn push(&mut self, level: &'static str, context: String, message: String) {
        if self.lines.len() >= MAX_LOG_LINES {
            self.dropped += 1;
            return;
        }
        self.lines.push(LogLine {
            stream: "log",
            level,
            context: clip(context),
            text: clip(message),
        });
    }

    /// Forgets the lines (an instance reused for another call).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.dropped = 0;
    }

    /// Appends the kept lines to `out`, and a line saying how many were
    /// dropped when some were.
    pub fn copy_into(&self, out: &mut Vec<LogLine>) {
        out.extend(self.lines.iter().cloned());
        if self.dropped > 0 {
            out.push(LogLine {
                stream: "log",
                level: "warn",
                context: String::new(),
                text: format!("({} more log lines dropped)", self.dropped),
            });
        }
    }
}

/// `text`, cut to the longest kept line (at a character boundary).
pub fn clip(mut text: String) -> String {
    if text.len() > MAX_LINE {
        let mut end = MAX_LINE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
