//! Making a provider archive: check the request, hash each binary, sign the
//! claims, and write a tar (fixed times, owners and modes, entries in order)
//! compressed with gzip, so the same inputs and claims give the same bytes.

use std::collections::BTreeMap;
use std::io::Write as _;

use nkeys::KeyPair;
use sha2::{Digest as _, Sha256};

use super::{BIN_DIR, CLAIMS_ENTRY, MAX_ENTRIES, MAX_UNPACKED, valid_target};
use crate::claims::token::{self, TokenError};
use crate::claims::{
    Capability, PROVIDER_FORMAT_VERSION, ProviderClaims, ProviderMetadata, SignerError,
    check_signing, format_hash,
};
use crate::keys::KeyKind;

/// What to put into an archive.
#[derive(Debug, Clone)]
pub struct PackageRequest<'a> {
    /// The issuer's account key pair (needs its seed).
    pub issuer: &'a KeyPair,
    /// The provider id (`V…`) the claims name.
    pub subject: String,
    pub name: String,
    pub version: String,
    pub revision: u32,
    pub implements: Vec<Capability>,
    /// `(target triple, executable bytes)`, one per target.
    pub binaries: Vec<(String, Vec<u8>)>,
    pub tags: Vec<String>,
    /// Issued-at, seconds since the epoch.
    pub now: u64,
    pub not_before: Option<u64>,
    pub expires: Option<u64>,
}

/// Why an archive could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("an archive needs at least one binary (--binary TRIPLE=PATH)")]
    NoBinaries,
    #[error("`{0}` is not a target triple (like x86_64-unknown-linux-gnu)")]
    BadTarget(String),
    #[error("two binaries for target {0}")]
    DuplicateTarget(String),
    #[error("the binary for {0} is empty")]
    EmptyBinary(String),
    #[error("more than {MAX_ENTRIES} binaries")]
    TooManyBinaries,
    #[error("the binaries add up to more than the {MAX_UNPACKED} bytes a host unpacks")]
    TooLarge,
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("cannot write the archive: {0}")]
    Write(#[from] std::io::Error),
}

/// Makes a signed archive from `request` and returns its bytes.
pub fn package(request: &PackageRequest<'_>) -> Result<Vec<u8>, PackageError> {
    check_signing(
        request.issuer,
        &request.subject,
        KeyKind::Provider,
        &request.name,
        request.not_before,
        request.expires,
    )?;
    let binaries = check_binaries(&request.binaries)?;
    let targets = binaries
        .iter()
        .map(|(target, bytes)| {
            let hash: [u8; 32] = Sha256::digest(bytes).into();
            ((*target).to_owned(), format_hash(&hash))
        })
        .collect();
    let claims = ProviderClaims {
        iss: request.issuer.public_key(),
        sub: request.subject.clone(),
        iat: request.now,
        exp: request.expires,
        nbf: request.not_before,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        floe: ProviderMetadata {
            v: PROVIDER_FORMAT_VERSION,
            name: request.name.clone(),
            version: request.version.clone(),
            revision: request.revision,
            implements: request.implements.clone(),
            targets,
            tags: request.tags.clone(),
        },
    };
    let token = token::encode(&claims, request.issuer)?;
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    append(&mut tar, CLAIMS_ENTRY, token.as_bytes(), 0o644)?;
    for (target, bytes) in &binaries {
        append(&mut tar, &format!("{BIN_DIR}{target}"), bytes, 0o755)?;
    }
    let mut gzip = tar.into_inner()?;
    gzip.flush()?;
    Ok(gzip.finish()?)
}

/// The binaries by target, checked: valid distinct triples, none empty, not
/// too many or too large for a host to unpack.
fn check_binaries(binaries: &[(String, Vec<u8>)]) -> Result<BTreeMap<&str, &[u8]>, PackageError> {
    if binaries.is_empty() {
        return Err(PackageError::NoBinaries);
    }
    if binaries.len() >= MAX_ENTRIES {
        return Err(PackageError::TooManyBinaries);
    }
    let mut by_target = BTreeMap::new();
    let mut total: u64 = 0;
    for (target, bytes) in binaries {
        if !valid_target(target) {
            return Err(PackageError::BadTarget(target.clone()));
        }
        if bytes.is_empty() {
            return Err(PackageError::EmptyBinary(target.clone()));
        }
        total = total.saturating_add(bytes.len() as u64);
        if by_target
            .insert(target.as_str(), bytes.as_slice())
            .is_some()
        {
            return Err(PackageError::DuplicateTarget(target.clone()));
        }
    }
    if total > MAX_UNPACKED {
        return Err(PackageError::TooLarge);
    }
    Ok(by_target)
}

fn append<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, bytes)
}
