//! `floe claims sign` and `floe claims inspect`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use floe_wire::claims::{self, Capability, Claims, SignRequest, VerifyPolicy};
use floe_wire::keys::{self, KeyKind};
use floe_wire::keystore::{FloeHome, sanitize_name};
use serde::Serialize;

use clap::{Args, Subcommand};

use crate::args::ValidityArgs;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Embed signed claims in a component.
    Sign(Box<ClaimsSignArgs>),
    /// Show a component's claims and whether its signature and hash hold.
    Inspect(ClaimsInspectArgs),
}

#[derive(Debug, Args)]
pub struct ClaimsSignArgs {
    /// The component to sign (a wasm32-wasip2 component).
    pub component: PathBuf,
    /// The issuer's account key: a name saved with `floe keys gen --save` or a seed.
    #[arg(long, value_name = "NAME|SEED")]
    pub issuer: String,
    /// The actor's human name.
    #[arg(long)]
    pub name: String,
    /// The release version (free-form, usually semver).
    #[arg(long = "version", value_name = "VERSION")]
    pub release: String,
    /// Monotonic revision number.
    #[arg(long, default_value_t = 0)]
    pub revision: u32,
    /// A capability the actor may import: `ns:pkg/iface` or a whole package `ns:pkg`.
    #[arg(long = "cap", value_name = "CAPABILITY")]
    pub caps: Vec<String>,
    /// The actor id: a saved actor key name, an actor seed or an `M…` public key.
    /// Default: the id the component already has, else the actor key saved as
    /// `NAME-actor` (created on first use).
    #[arg(long, value_name = "NAME|SEED|KEY")]
    pub subject: Option<String>,
    #[command(flatten)]
    pub validity: ValidityArgs,
    /// Where to write the signed component (default: NAME_s.wasm beside the input).
    #[arg(long, value_name = "OUT.wasm")]
    pub destination: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClaimsInspectArgs {
    /// The signed component.
    pub component: PathBuf,
}

#[derive(Debug, Serialize)]
struct SignedReport {
    path: String,
    actor: String,
    issuer: String,
    name: String,
    version: String,
    revision: u32,
    hash: String,
    new_actor_key: Option<String>,
}

#[derive(Debug, Serialize)]
struct InspectReport<'a> {
    path: String,
    valid: bool,
    reason: Option<&'static str>,
    error: Option<String>,
    signature_valid: bool,
    hash_valid: bool,
    actual_hash: &'a str,
    claims: &'a Claims,
}

pub fn sign(args: &ClaimsSignArgs, home: &FloeHome, format: OutputFormat) -> anyhow::Result<()> {
    let bytes = read_component(&args.component)?;
    let store = home.keys();
    let (issuer, _) = store
        .resolve(&args.issuer, KeyKind::Account)
        .context("--issuer must name a saved account key or be an account seed (create one with `floe keys gen --type account --save NAME`)")?;
    let previous = claims::existing_claims(&bytes)
        .map_err(|e| anyhow!("{} cannot be signed: {e}", args.component.display()))?;
    let (subject, new_actor_key) = choose_subject(args, previous.as_ref(), home)?;
    let caps = args
        .caps
        .iter()
        .map(|c| c.parse::<Capability>())
        .collect::<Result<Vec<_>, _>>()?;
    let now = unix_now();
    let (not_before, expires) = validity(
        args.validity.not_before.as_deref(),
        args.validity.expires_in.as_deref(),
        now,
    )?;
    let request = SignRequest {
        issuer: &issuer,
        subject,
        name: args.name.clone(),
        version: args.release.clone(),
        revision: args.revision,
        caps,
        tags: args.validity.tags.clone(),
        now,
        not_before,
        expires,
    };
    let signed = claims::sign(&bytes, &request)
        .map_err(|e| anyhow!("{} cannot be signed: {e}", args.component.display()))?;
    let destination = args
        .destination
        .clone()
        .unwrap_or_else(|| default_destination(&args.component));
    std::fs::write(&destination, &signed).with_context(|| {
        format!(
            "cannot write {}; check the directory exists and is writable",
            destination.display()
        )
    })?;
    let verified = claims::verify(&signed, now, &VerifyPolicy::default())
        .map_err(|e| anyhow!("the signed output does not verify ({e}); this is a bug in floe"))?;
    let report = SignedReport {
        path: destination.display().to_string(),
        actor: verified.sub,
        issuer: verified.iss,
        name: verified.floe.name,
        version: verified.floe.version,
        revision: verified.floe.revision,
        hash: verified.floe.hash,
        new_actor_key: new_actor_key.map(|p| p.display().to_string()),
    };
    match format {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(format, &report),
        OutputFormat::Text => {
            let mut fields = vec![
                ("Signed", report.path.clone()),
                ("Actor", report.actor.clone()),
                ("Issuer", report.issuer.clone()),
                (
                    "Name",
                    format!(
                        "{} {} (revision {})",
                        report.name, report.version, report.revision
                    ),
                ),
                ("Hash", report.hash.clone()),
            ];
            if let Some(path) = &report.new_actor_key {
                fields.push(("New actor key", path.clone()));
            }
            output::print_fields(&fields)
        }
    }
}

/// The actor id: `--subject` when given, else the id the component already
/// carries, else the actor key saved for this name (created on first use).
fn choose_subject(
    args: &ClaimsSignArgs,
    previous: Option<&Claims>,
    home: &FloeHome,
) -> anyhow::Result<(String, Option<PathBuf>)> {
    if let (None, Some(previous)) = (&args.subject, previous) {
        return Ok((previous.sub.clone(), None));
    }
    subject_key(
        home,
        args.subject.as_deref(),
        KeyKind::Actor,
        &format!("{}-actor", sanitize_name(&args.name)),
    )
}

/// The subject's public key: `subject` (a public key, a seed or a saved key
/// name of `kind`) when given, else the key saved as `default_name`,
/// created on first use (its path returned then).
pub(super) fn subject_key(
    home: &FloeHome,
    subject: Option<&str>,
    kind: KeyKind,
    default_name: &str,
) -> anyhow::Result<(String, Option<PathBuf>)> {
    let store = home.keys();
    if let Some(subject) = subject {
        if let Ok(public) = keys::parse_public(subject, kind) {
            return Ok((public.public_key(), None));
        }
        let (pair, _) = store.resolve(subject, kind).with_context(|| {
            format!(
                "--subject must be a {0} key (`{1}…`), a {0} seed, or the name of a saved {0} key",
                kind.as_str(),
                kind.public_prefix()
            )
        })?;
        return Ok((pair.public_key(), None));
    }
    let (pair, created) = store.load_or_create(default_name, kind).with_context(|| {
        format!(
            "cannot load or create the {} key `{default_name}`",
            kind.as_str()
        )
    })?;
    let created_path = created.then(|| store.path_of(default_name)).transpose()?;
    Ok((pair.public_key(), created_path))
}

pub fn inspect(args: &ClaimsInspectArgs, format: OutputFormat) -> anyhow::Result<()> {
    let bytes = read_component(&args.component)?;
    let path = args.component.display().to_string();
    let inspection = claims::inspect(&bytes, unix_now(), &VerifyPolicy::default())
        .map_err(|e| anyhow!("{path}: {e}"))?;
    let verdict_error = inspection.verdict.as_ref().err();
    let report = InspectReport {
        path: path.clone(),
        valid: verdict_error.is_none(),
        reason: verdict_error.map(|e| e.code()),
        error: verdict_error.map(|e| e.to_string()),
        signature_valid: inspection.signature_valid,
        hash_valid: inspection.hash_valid,
        actual_hash: &inspection.actual_hash,
        claims: &inspection.claims,
    };
    match format {
        OutputFormat::Json | OutputFormat::Yaml => output::print_data(format, &report)?,
        OutputFormat::Text => print_inspection(&report)?,
    }
    match verdict_error {
        None => Ok(()),
        Some(e) => bail!("{path} is not valid: {e}"),
    }
}

fn print_inspection(report: &InspectReport<'_>) -> anyhow::Result<()> {
    let c = report.claims;
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    let time =
        |t: Option<u64>, none: &str| t.map_or_else(|| none.to_owned(), crate::output::unix_time);
    output::print_fields(&[
        ("Actor", c.sub.clone()),
        ("Name", c.floe.name.clone()),
        (
            "Version",
            format!("{} (revision {})", c.floe.version, c.floe.revision),
        ),
        ("Issuer", c.iss.clone()),
        ("Issued", crate::output::unix_time(c.iat)),
        ("Not before", time(c.nbf, "-")),
        ("Expires", time(c.exp, "never")),
        (
            "Capabilities",
            list(c.floe.caps.iter().map(ToString::to_string).collect()),
        ),
        ("Tags", list(c.floe.tags.clone())),
        ("Token id", c.jti.clone()),
        ("Hash", c.floe.hash.clone()),
        (
            "Signature",
            if report.signature_valid {
                "valid"
            } else {
                "INVALID"
            }
            .to_owned(),
        ),
        (
            "Hash check",
            if report.hash_valid {
                "matches"
            } else {
                "MISMATCH (tampered)"
            }
            .to_owned(),
        ),
        (
            "Verdict",
            report
                .error
                .clone()
                .map_or_else(|| "valid".to_owned(), |e| format!("INVALID: {e}")),
        ),
    ])
}

fn read_component(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}; check the path", path.display()))
}

fn default_destination(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "component".into(), |s| s.to_string_lossy().into_owned());
    input.with_file_name(format!("{stem}_s.wasm"))
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `--not-before` and `--expires-in` as times (seconds since the epoch).
pub(super) fn validity(
    not_before: Option<&str>,
    expires_in: Option<&str>,
    now: u64,
) -> anyhow::Result<(Option<u64>, Option<u64>)> {
    let expires = expires_in
        .map(|d| {
            parse_duration(d, "--expires-in").and_then(|d| {
                now.checked_add(d.as_secs())
                    .ok_or_else(|| anyhow!("--expires-in `{d:?}` is too far in the future"))
            })
        })
        .transpose()?;
    let not_before = not_before.map(|t| parse_time(t, now)).transpose()?;
    Ok((not_before, expires))
}

fn parse_duration(text: &str, flag: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text)
        .with_context(|| format!("{flag}: `{text}` is not a duration (try 30d, 12h or 90m)"))
}

fn parse_time(text: &str, now: u64) -> anyhow::Result<u64> {
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        return at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .map_err(|_| anyhow!("--not-before: {text} is before 1970"));
    }
    humantime::parse_duration(text)
        .ok()
        .and_then(|d| now.checked_add(d.as_secs()))
        .ok_or(())
        .map_err(|_| anyhow!("--not-before: `{text}` is neither an RFC 3339 time (2026-12-01T00:00:00Z) nor a delay (1h)"))
}

impl ClaimsCommand {
    /// Runs the command; `home` is asked for only when the command keeps
    /// or reads keys.
    pub fn execute(
        self,
        home: impl FnOnce() -> anyhow::Result<FloeHome>,
        format: OutputFormat,
    ) -> anyhow::Result<()> {
        match self {
            ClaimsCommand::Sign(args) => sign(&args, &home()?, format),
            ClaimsCommand::Inspect(args) => inspect(&args, format),
        }
    }
}
