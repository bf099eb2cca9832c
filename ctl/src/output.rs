//! How commands print: human text (aligned columns), JSON or YAML, chosen
//! with the global `--output`/`-o` flag. `--output` is always a format, never
//! a file. Streams (`watch`, `logs`) print one JSON object per line, or one
//! YAML document per record.

use std::io::{self, Write};

use serde::Serialize;

/// The output formats every command supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Yaml,
}

impl OutputFormat {
    /// Text for people (else data for scripts).
    pub fn is_text(self) -> bool {
        self == OutputFormat::Text
    }
}

/// Prints `value` as pretty JSON, or as YAML for `-o yaml`.
pub fn print_data<T: Serialize>(format: OutputFormat, value: &T) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    if format == OutputFormat::Yaml {
        serde_yaml_ng::to_writer(&mut out, value)?;
    } else {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Prints one record of a stream: a JSON line, or a YAML document.
pub fn print_record<T: Serialize>(format: OutputFormat, value: &T) -> anyhow::Result<()> {
    let mut record = Vec::new();
    if format == OutputFormat::Yaml {
        record.extend_from_slice(b"---\n");
        serde_yaml_ng::to_writer(&mut record, value)?;
    } else {
        serde_json::to_writer(&mut record, value)?;
        record.push(b'\n');
    }
    write_stdout(&record)
}

/// Prints rows under a header with columns padded to their widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = io::stdout().lock();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let width = widths.get(i).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Prints `label: value` pairs with the labels aligned.
pub fn print_fields(fields: &[(&str, String)]) -> anyhow::Result<()> {
    let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = io::stdout().lock();
    for (label, value) in fields {
        writeln!(out, "{label:<width$}  {value}")?;
    }
    Ok(())
}

/// Set once stdout's reader went away.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes bytes to stdout; a reader that went away (`| head`) is not an
/// error (see [`stdout_closed`]).
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        other => Ok(other?),
    }
}

/// True once a write found stdout's reader gone.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A spinner on stderr while a command waits: shown only for text output
/// on a terminal, so pipes and scripts see nothing of it. Cleared on drop.
#[derive(Debug)]
pub struct Waiting(Option<indicatif::ProgressBar>);

impl Waiting {
    pub fn new(format: OutputFormat, message: impl Into<String>) -> Self {
        use std::io::IsTerminal as _;
        if !format.is_text() || !io::stderr().is_terminal() {
            return Waiting(None);
        }
        let spinner = indicatif::ProgressBar::new_spinner().with_message(message.into());
        spinner.enable_steady_tick(std::time::Duration::from_millis(100));
        Waiting(Some(spinner))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(spinner) = self.0.take() {
            spinner.finish_and_clear();
        }
    }
}

/// A Unix time in seconds as RFC 3339 for times humantime can print (years
/// 1970–9999), else raw seconds: claims are shown before they are trusted,
/// so any value may come.
pub fn unix_time(secs: u64) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    if secs >= YEAR_10000 {
        return format!("{secs} (unix seconds)");
    }
    std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(secs))
        .map_or_else(
            || format!("{secs} (unix seconds)"),
            |t| humantime::format_rfc3339_seconds(t).to_string(),
        )
}
