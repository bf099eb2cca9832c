//! Reading a provider archive back, in two streaming passes with bounded
//! sizes and entry counts: the first hashes every binary without keeping
//! any and reads the claims; only when the signature, every hash and the
//! validity times hold does the second keep the binaries a host can run
//! (never the others). Never panics, whatever the bytes.

use std::collections::BTreeMap;
use std::io::Read as _;

use sha2::{Digest as _, Sha256};

use super::{BIN_DIR, CLAIMS_ENTRY, MAX_ENTRIES, MAX_UNPACKED, valid_target};
use crate::claims::token;
use crate::claims::{
    PROVIDER_FORMAT_VERSION, ProviderClaims, VerifyError, VerifyPolicy, check_validity, format_hash,
};
use crate::keys::{self, KeyKind};

/// The most bytes a claims token may have.
const MAX_TOKEN: u64 = 64 << 10;

/// Why an archive is refused. Each reason has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a provider archive (a gzip-compressed tar made by `floe provider package`): {0}")]
    NotAnArchive(String),
    #[error("unexpected entry `{0}` (an archive holds only claims.jwt and bin/TRIPLE files)")]
    UnexpectedEntry(String),
    #[error("two entries named `{0}`")]
    DuplicateEntry(String),
    #[error("more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    #[error("it unpacks to more than the {MAX_UNPACKED} bytes a host accepts")]
    TooLarge,
    #[error(
        "unsigned: the archive holds no claims.jwt (make archives with `floe provider package`)"
    )]
    Unsigned,
    #[error("malformed claims token: {0}")]
    MalformedToken(String),
    #[error(
        "provider claims format {0} is not one this version reads (it reads {PROVIDER_FORMAT_VERSION})"
    )]
    UnknownVersion(u32),
    #[error(transparent)]
    Claims(VerifyError),
    #[error(
        "tampered: the binary for {target} has hash {actual}, but the claims were signed for {signed}"
    )]
    BinaryTampered {
        target: String,
        signed: String,
        actual: String,
    },
    #[error("the claims list a binary for {0} that the archive does not hold")]
    MissingBinary(String),
    #[error("the archive holds a binary for {0} that its claims do not list")]
    UnlistedBinary(String),
    #[error(
        "no binary for this host's target {target}: the archive has {} (package one with --binary {target}=PATH)",
        available.join(", ")
    )]
    NoBinaryForTarget {
        target: String,
        available: Vec<String>,
    },
}

impl ArchiveError {
    /// A stable machine-readable name for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            ArchiveError::NotAnArchive(_) => "not_an_archive",
            ArchiveError::UnexpectedEntry(_)
            | ArchiveError::DuplicateEntry(_)
            | ArchiveError::TooManyEntries => "malformed_archive",
            ArchiveError::TooLarge => "too_large",
            ArchiveError::Unsigned => "unsigned",
            ArchiveError::MalformedToken(_) => "malformed_token",
            ArchiveError::UnknownVersion(_) => "unknown_version",
            ArchiveError::Claims(e) => e.code(),
            ArchiveError::BinaryTampered { .. }
            | ArchiveError::MissingBinary(_)
            | ArchiveError::UnlistedBinary(_) => "tampered",
            ArchiveError::NoBinaryForTarget { .. } => "no_binary_for_target",
        }
    }
}

/// One binary of an archive as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCheck {
    pub target: String,
    pub size: u64,
    /// `sha256:HEX` of the bytes in the archive.
    pub actual_hash: String,
    /// What the claims say it should be (`None`: not listed).
    pub signed_hash: Option<String>,
}

impl TargetCheck {
    pub fn hash_valid(&self) -> bool {
        self.signed_hash.as_deref() == Some(self.actual_hash.as_str())
    }
}

/// Everything known about an archive, valid or not: what
/// `floe provider inspect` shows.
#[derive(Debug, Clone)]
pub struct ArchiveInspection {
    /// The decoded claims (not trustworthy unless `verdict` is `Ok`).
    pub claims: ProviderClaims,
    pub signature_valid: bool,
    /// The binaries held, by target.
    pub targets: Vec<TargetCheck>,
    /// The result [`open`] gives for the same bytes and time.
    pub verdict: Result<(), ArchiveError>,
}

/// An archive whose signature, binaries and validity hold, with the
/// binaries kept for the targets asked for.
#[derive(Debug, Clone)]
pub struct ProviderArchive {
    pub claims: ProviderClaims,
    binaries: BTreeMap<String, Vec<u8>>,
}

impl ProviderArchive {
    /// The targets it holds binaries for (signed, whether kept or not).
    pub fn targets(&self) -> Vec<String> {
        self.claims.floe.targets.keys().cloned().collect()
    }

    /// The binary a host of `host_target` runs, with the target it was built
    /// for: the exact target, else a compatible one
    /// ([`compatible_targets`]).
    pub fn binary_for(&self, host_target: &str) -> Result<(&str, &[u8]), ArchiveError> {
        compatible_targets(host_target)
            .iter()
            .find_map(|t| {
                self.binaries
                    .get_key_value(t.as_str())
                    .map(|(k, v)| (k.as_str(), v.as_slice()))
            })
            .ok_or_else(|| ArchiveError::NoBinaryForTarget {
                target: host_target.to_owned(),
                available: self.targets(),
            })
    }
}

/// The targets whose binaries a host of `host_target` runs, best first: its
/// own, then, on Linux with glibc, the static musl build of the same
/// architecture.
pub fn compatible_targets(host_target: &str) -> Vec<String> {
    let mut targets = vec![host_target.to_owned()];
    if let Some(arch) = host_target.strip_suffix("-linux-gnu") {
        targets.push(format!("{arch}-linux-musl"));
    }
    targets
}

/// Verifies an archive at time `now` (seconds since the epoch), keeping
/// the binaries of every target.
pub fn open(
    bytes: &[u8],
    now: u64,
    policy: &VerifyPolicy,
) -> Result<ProviderArchive, ArchiveError> {
    open_keeping(bytes, now, policy, &|_| true)
}

/// Verifies an archive and keeps only the binaries a host of `host_target`
/// can run ([`compatible_targets`]): the others are hashed, never held.
pub fn open_for(
    bytes: &[u8],
    now: u64,
    policy: &VerifyPolicy,
    host_target: &str,
) -> Result<ProviderArchive, ArchiveError> {
    let wanted = compatible_targets(host_target);
    open_keeping(bytes, now, policy, &|t| wanted.iter().any(|w| w == t))
}

fn open_keeping(
    bytes: &[u8],
    now: u64,
    policy: &VerifyPolicy,
    keep: &dyn Fn(&str) -> bool,
) -> Result<ProviderArchive, ArchiveError> {
    // First pass: the claims and every binary's hash, nothing kept.
    let inspection = inspect(bytes, now, policy)?;
    inspection.verdict?;
    // Second pass, only for an archive that holds: the binaries wanted,
    // checked again against the signed hashes as they are read.
    let scanned = scan(bytes, keep)?;
    for (target, (_, actual)) in &scanned.hashes {
        let signed = inspection.claims.floe.targets.get(target);
        if signed != Some(actual) {
            return Err(ArchiveError::BinaryTampered {
                target: target.clone(),
                signed: signed.cloned().unwrap_or_default(),
                actual: actual.clone(),
            });
        }
    }
    Ok(ProviderArchive {
        claims: inspection.claims,
        binaries: scanned.kept,
    })
}

/// Reads an archive once, keeping no binary, and checks each property
/// separately. Fails only when there are no claims to show; otherwise the
/// verdict says whether the archive would be accepted.
pub fn inspect(
    bytes: &[u8],
    now: u64,
    policy: &VerifyPolicy,
) -> Result<ArchiveInspection, ArchiveError> {
    let Scanned { token, hashes, .. } = scan(bytes, &|_| false)?;
    let token = token.ok_or(ArchiveError::Unsigned)?;
    let decoded = token::decode::<ProviderClaims>(&token)
        .map_err(|e| ArchiveError::MalformedToken(e.to_string()))?;
    let claims = decoded.claims.clone();
    let issuer = keys::parse_public(&claims.iss, KeyKind::Account)
        .map_err(|e| ArchiveError::MalformedToken(format!("iss: {e}")))?;
    keys::parse_public(&claims.sub, KeyKind::Provider)
        .map_err(|e| ArchiveError::MalformedToken(format!("sub: {e}")))?;
    let signature_valid = decoded.signature_valid(&issuer);
    let targets: Vec<TargetCheck> = hashes
        .into_iter()
        .map(|(target, (size, actual_hash))| TargetCheck {
            signed_hash: claims.floe.targets.get(&target).cloned(),
            target,
            size,
            actual_hash,
        })
        .collect();
    let verdict = judge(&claims, signature_valid, &targets, now, policy);
    Ok(ArchiveInspection {
        claims,
        signature_valid,
        targets,
        verdict,
    })
}

fn judge(
    claims: &ProviderClaims,
    signature_valid: bool,
    targets: &[TargetCheck],
    now: u64,
    policy: &VerifyPolicy,
) -> Result<(), ArchiveError> {
    if !signature_valid {
        return Err(ArchiveError::Claims(VerifyError::BadSignature {
            issuer: claims.iss.clone(),
        }));
    }
    if claims.floe.v != PROVIDER_FORMAT_VERSION {
        return Err(ArchiveError::UnknownVersion(claims.floe.v));
    }
    for check in targets {
        match &check.signed_hash {
            None => return Err(ArchiveError::UnlistedBinary(check.target.clone())),
            Some(signed) if *signed != check.actual_hash => {
                return Err(ArchiveError::BinaryTampered {
                    target: check.target.clone(),
                    signed: signed.clone(),
                    actual: check.actual_hash.clone(),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(missing) = claims
        .floe
        .targets
        .keys()
        .find(|t| !targets.iter().any(|c| &c.target == *t))
    {
        return Err(ArchiveError::MissingBinary(missing.clone()));
    }
    check_validity(claims, now, policy).map_err(ArchiveError::Claims)
}

struct Scanned {
    token: Option<Vec<u8>>,
    /// Every binary's size and `sha256:HEX`, by target.
    hashes: BTreeMap<String, (u64, String)>,
    /// The bytes of the binaries `keep` asked for.
    kept: BTreeMap<String, Vec<u8>>,
}

/// Reads what an archive holds in one streaming pass, every size bounded
/// before it is read: the claims token, and each binary hashed as it
/// streams by, its bytes kept only when `keep` says so.
fn scan(bytes: &[u8], keep: &dyn Fn(&str) -> bool) -> Result<Scanned, ArchiveError> {
    if !super::looks_like_archive(bytes) {
        return Err(ArchiveError::NotAnArchive(
            "it does not start with the gzip magic bytes".to_owned(),
        ));
    }
    let bad = |e: std::io::Error| ArchiveError::NotAnArchive(e.to_string());
    // Headers and padding come on top of the entries' bytes.
    let slack = (MAX_ENTRIES as u64 + 2) * 1024 + 8192;
    let decoder = flate2::read::GzDecoder::new(bytes).take(MAX_UNPACKED + slack);
    let mut archive = tar::Archive::new(decoder);
    let mut scanned = Scanned {
        token: None,
        hashes: BTreeMap::new(),
        kept: BTreeMap::new(),
    };
    let mut total: u64 = 0;
    for (count, entry) in archive.entries().map_err(bad)?.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(ArchiveError::TooManyEntries);
        }
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let path = path.strip_prefix("./").unwrap_or(&path).to_owned();
        match entry.header().entry_type() {
            tar::EntryType::Directory if matches!(path.as_str(), "" | "bin/" | "bin") => continue,
            tar::EntryType::XGlobalHeader => continue,
            tar::EntryType::Regular => {}
            _ => return Err(ArchiveError::UnexpectedEntry(path)),
        }
        let size = entry.header().size().map_err(bad)?;
        let limit = if path == CLAIMS_ENTRY {
            MAX_TOKEN
        } else {
            MAX_UNPACKED
        };
        total = total.saturating_add(size);
        if size > limit || total > MAX_UNPACKED {
            return Err(ArchiveError::TooLarge);
        }
        if path == CLAIMS_ENTRY {
            let mut token = Vec::new();
            (&mut entry)
                .take(size)
                .read_to_end(&mut token)
                .map_err(bad)?;
            if scanned.token.replace(token).is_some() {
                return Err(ArchiveError::DuplicateEntry(path));
            }
            continue;
        }
        let Some(target) = path.strip_prefix(BIN_DIR).filter(|t| valid_target(t)) else {
            return Err(ArchiveError::UnexpectedEntry(path));
        };
        if scanned.hashes.contains_key(target) {
            return Err(ArchiveError::DuplicateEntry(path));
        }
        let mut kept = keep(target).then(|| {
            // Capacity grows with what arrives, not with what a header claims.
            Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0))
        });
        let mut hasher = Sha256::new();
        let mut buf = [0u8; 64 << 10];
        let mut read: u64 = 0;
        let mut body = (&mut entry).take(size);
        loop {
            let n = body.read(&mut buf).map_err(bad)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if let Some(kept) = kept.as_mut() {
                kept.extend_from_slice(&buf[..n]);
            }
            read += n as u64;
        }
        let hash: [u8; 32] = hasher.finalize().into();
        scanned
            .hashes
            .insert(target.to_owned(), (read, format_hash(&hash)));
        if let Some(kept) = kept {
            scanned.kept.insert(target.to_owned(), kept);
        }
    }
    Ok(scanned)
}
