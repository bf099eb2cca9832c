//! `floe provider package` and `floe provider inspect`: signed provider
//! archives (a binary per target triple, claims with each binary's hash).

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use floe_wire::archive::{self, ArchiveInspection, PackageRequest};
use floe_wire::claims::{Capability, ProviderClaims, VerifyPolicy};
use floe_wire::keys::KeyKind;
use floe_wire::keystore::{FloeHome, sanitize_name};
use serde::Serialize;

use super::claims::{subject_key, unix_now, validity};
use clap::{Args, Subcommand};

use crate::args::{BadArg, ValidityArgs};
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Make a signed provider archive: one binary per target triple, and
    /// claims (signed by the issuer) holding each binary's sha256.
    Package(Box<ProviderPackageArgs>),
    /// Show an archive's claims and whether its signature and binaries hold.
    Inspect(ProviderInspectArgs),
}

#[derive(Debug, Args)]
pub struct ProviderPackageArgs {
    /// The issuer's account key: a name saved with `floe keys gen --save` or a seed.
    #[arg(long, value_name = "NAME|SEED")]
    pub issuer: String,
    /// The provider's name (what links and `floe get providers` show).
    #[arg(long)]
    pub name: String,
    /// An interface it answers, `ns:pkg/iface` (repeatable; none for a provider
    /// that only calls actors, like an HTTP server).
    #[arg(long = "implements", value_name = "INTERFACE")]
    pub implements: Vec<String>,
    /// The executable for one target (repeatable), e.g.
    /// `x86_64-unknown-linux-gnu=target/release/my-provider`.
    #[arg(long = "binary", value_name = "TRIPLE=PATH", required = true, value_parser = parse_target_binary)]
    pub binaries: Vec<(String, PathBuf)>,
    /// The release version (free-form, usually semver).
    #[arg(long = "version", value_name = "VERSION", default_value = "0.1.0")]
    pub release: String,
    /// Monotonic revision number.
    #[arg(long, default_value_t = 0)]
    pub revision: u32,
    /// The provider id: a saved provider key name, a provider seed or a `V…`
    /// public key. Default: the provider key saved as `NAME-provider`
    /// (created on first use), so every version keeps one id.
    #[arg(long, value_name = "NAME|SEED|KEY")]
    pub subject: Option<String>,
    #[command(flatten)]
    pub validity: ValidityArgs,
    /// Where to write the archive (default: NAME.par.gz in the current directory).
    #[arg(long, value_name = "OUT.par.gz")]
    pub destination: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProviderInspectArgs {
    /// The archive.
    pub archive: PathBuf,
}

fn parse_target_binary(text: &str) -> Result<(String, PathBuf), BadArg> {
    let (target, path) = text.split_once('=').ok_or_else(|| {
        BadArg(format!(
            "`{text}` is not TRIPLE=PATH (e.g. x86_64-unknown-linux-gnu=target/release/my-provider)"
        ))
    })?;
    if !floe_wire::archive::valid_target(target) {
        return Err(BadArg(format!(
            "`{target}` is not a target triple (e.g. x86_64-unknown-linux-gnu; `rustc -vV` prints yours as `host:`)"
        )));
    }
    if path.is_empty() {
        return Err(BadArg(format!("no path after `{target}=`")));
    }
    Ok((target.to_owned(), PathBuf::from(path)))
}

/// The largest binary packaged (a host unpacks at most this much in all).
const MAX_BINARY: u64 = archive::MAX_UNPACKED;

#[derive(Debug, Serialize)]
struct PackagedReport {
    path: String,
    provider: String,
    issuer: String,
    name: String,
    version: String,
    revision: u32,
    implements: Vec<String>,
    /// Target triple → `sha256:HEX`.
    targets: std::collections::BTreeMap<String, String>,
    size: u64,
    new_provider_key: Option<String>,
}

pub fn package(
    args: &ProviderPackageArgs,
    home: &FloeHome,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let store = home.keys();
    let (issuer, _) = store
        .resolve(&args.issuer, KeyKind::Account)
        .context("--issuer must name a saved account key or be an account seed (create one with `floe keys gen --type account --save NAME`)")?;
    let implements = args
        .implements
        .iter()
        .map(|c| c.parse::<Capability>())
        .collect::<Result<Vec<_>, _>>()?;
    let binaries = args
        .binaries
        .iter()
        .map(|(target, path)| read_binary(path).map(|bytes| (target.clone(), bytes)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (subject, new_provider_key) = subject_key(
        home,
        args.subject.as_deref(),
        KeyKind::Provider,
        &format!("{}-provider", sanitize_name(&args.name)),
    )?;
    let now = unix_now();
    let (not_before, expires) = validity(
        args.validity.not_before.as_deref(),
        args.validity.expires_in.as_deref(),
        now,
    )?;
    let request = PackageRequest {
        issuer: &issuer,
        subject,
        name: args.name.clone(),
        version: args.release.clone(),
        revision: args.revision,
        implements,
        binaries,
        tags: args.validity.tags.clone(),
        now,
        not_before,
        expires,
    };
    let bytes = archive::package(&request).map_err(|e| anyhow!("cannot package: {e}"))?;
    let destination = args
        .destination
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.par.gz", sanitize_name(&args.name))));
    std::fs::write(&destination, &bytes).with_context(|| {
        format!(
            "cannot write {}; check the directory exists and is writable",
            destination.display()
        )
    })?;
    // Checked as a host checks it, at a time inside its validity.
    let check_at = not_before.map_or(now, |nbf| nbf.max(now));
    let opened = archive::open(&bytes, check_at, &VerifyPolicy::default())
        .map_err(|e| anyhow!("the archive does not verify ({e}); this is a bug in floe"))?;
    let claims = opened.claims;
    let report = PackagedReport {
        path: destination.display().to_string(),
        provider: claims.sub,
        issuer: claims.iss,
        name: claims.floe.name,
        version: claims.floe.version,
        revision: claims.floe.revision,
        implements: claims
            .floe
            .implements
            .iter()
            .map(ToString::to_string)
            .collect(),
        targets: claims.floe.targets,
        size: bytes.len() as u64,
        new_provider_key: new_provider_key.map(|p| p.display().to_string()),
    };
    if !format.is_text() {
        return output::print_data(format, &report);
    }
    print_packaged(&report)
}

/// What `floe provider package` made, for people.
fn print_packaged(report: &PackagedReport) -> anyhow::Result<()> {
    let mut fields = vec![
        (
            "Packaged",
            format!("{} ({} bytes)", report.path, report.size),
        ),
        ("Provider", report.provider.clone()),
        ("Issuer", report.issuer.clone()),
        (
            "Name",
            format!(
                "{} {} (revision {})",
                report.name, report.version, report.revision
            ),
        ),
        ("Implements", none_if_empty(report.implements.join(", "))),
    ];
    for (target, hash) in &report.targets {
        fields.push(("Binary", format!("{target} {hash}")));
    }
    if let Some(path) = &report.new_provider_key {
        fields.push(("New provider key", path.clone()));
    }
    output::print_fields(&fields)?;
    println!(
        "Store it in the lattice with `floe push {}`, then `floe start provider floe://sha256:…`.",
        report.path
    );
    Ok(())
}

fn read_binary(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}; check the path", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{} is not a file", path.display());
    }
    if meta.len() > MAX_BINARY {
        anyhow::bail!(
            "{} is larger than the {MAX_BINARY} bytes a host unpacks",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[derive(Debug, Serialize)]
struct TargetReport {
    target: String,
    size: u64,
    hash: String,
    hash_valid: bool,
}

#[derive(Debug, Serialize)]
struct InspectReport<'a> {
    path: String,
    valid: bool,
    reason: Option<&'static str>,
    error: Option<String>,
    signature_valid: bool,
    targets: Vec<TargetReport>,
    claims: &'a ProviderClaims,
}

pub fn inspect(args: &ProviderInspectArgs, format: OutputFormat) -> anyhow::Result<()> {
    let path = args.archive.display().to_string();
    let bytes = std::fs::read(&args.archive)
        .with_context(|| format!("cannot read {path}; check the path"))?;
    let inspection: ArchiveInspection =
        archive::inspect(&bytes, unix_now(), &VerifyPolicy::default())
            .map_err(|e| anyhow!("{path} cannot be inspected: {e}"))?;
    let report = InspectReport {
        path,
        valid: inspection.verdict.is_ok(),
        reason: inspection.verdict.as_ref().err().map(|e| e.code()),
        error: inspection.verdict.as_ref().err().map(ToString::to_string),
        signature_valid: inspection.signature_valid,
        targets: inspection
            .targets
            .iter()
            .map(|t| TargetReport {
                target: t.target.clone(),
                size: t.size,
                hash: t.actual_hash.clone(),
                hash_valid: t.hash_valid(),
            })
            .collect(),
        claims: &inspection.claims,
    };
    if !format.is_text() {
        output::print_data(format, &report)?;
    } else {
        let claims = report.claims;
        let mut fields = vec![
            ("Archive", report.path.clone()),
            (
                "Verdict",
                report
                    .error
                    .clone()
                    .unwrap_or_else(|| "valid: signature and every binary hold".to_owned()),
            ),
            ("Provider", claims.sub.clone()),
            ("Issuer", claims.iss.clone()),
            (
                "Name",
                format!(
                    "{} {} (revision {})",
                    claims.floe.name, claims.floe.version, claims.floe.revision
                ),
            ),
            (
                "Implements",
                none_if_empty(
                    claims
                        .floe
                        .implements
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ),
            (
                "Expires",
                claims
                    .exp
                    .map_or_else(|| "never".to_owned(), output::unix_time),
            ),
        ];
        for t in &report.targets {
            let state = if t.hash_valid { "ok" } else { "TAMPERED" };
            fields.push((
                "Binary",
                format!("{} {} bytes {} ({state})", t.target, t.size, t.hash),
            ));
        }
        output::print_fields(&fields)?;
    }
    match inspection.verdict {
        Ok(()) => Ok(()),
        Err(e) => Err(anyhow!("{} is not valid: {e}", args.archive.display())),
    }
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "(nothing: it only calls actors)".to_owned()
    } else {
        text
    }
}

impl ProviderCommand {
    /// Runs the command; `home` is asked for only when the command keeps
    /// or reads keys.
    pub fn execute(
        self,
        home: impl FnOnce() -> anyhow::Result<FloeHome>,
        format: OutputFormat,
    ) -> anyhow::Result<()> {
        match self {
            ProviderCommand::Package(args) => package(&args, &home()?, format),
            ProviderCommand::Inspect(args) => inspect(&args, format),
        }
    }
}
