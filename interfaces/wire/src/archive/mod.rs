//! Signed provider archives.
//!
//! A provider archive is a gzip-compressed tar holding a claims token
//! (`claims.jwt`, a JWT signed by the issuer's account key whose payload is
//! [`ProviderClaims`]) and one native binary per target triple
//! (`bin/TRIPLE`). The claims carry each binary's sha256, so one signature
//! covers every binary; the provider's id is the claims' subject (`V…`).
//!
//! A host runs only a binary whose signature and hash hold and whose target
//! it can execute ([`ProviderArchive::binary_for`]); `floe push` checks every
//! binary before the archive enters the lattice.
//!
//! # Layout
//! - `pack`: making an archive ([`package`]), deterministic byte for byte.
//! - `open`: reading one back with bounded sizes ([`inspect`], [`open`]),
//!   one error per reason it is refused.

mod open;
mod pack;

pub use open::{
    ArchiveError, ArchiveInspection, ProviderArchive, TargetCheck, compatible_targets, inspect,
    open, open_for,
};
pub use pack::{PackageError, PackageRequest, package};

/// The archive entry holding the claims token.
pub const CLAIMS_ENTRY: &str = "claims.jwt";
/// Binaries live under this directory, one file per target triple.
pub const BIN_DIR: &str = "bin/";
/// The most bytes an archive unpacks to (binaries and claims together).
pub const MAX_UNPACKED: u64 = 256 << 20;
/// The most entries an archive holds.
pub const MAX_ENTRIES: usize = 64;

/// True when `bytes` start like a gzip stream, which is how a provider
/// archive is told from a plain executable.
pub fn looks_like_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// A target triple as archives name them: 1 to 100 of `[A-Za-z0-9._-]`
/// (`x86_64-unknown-linux-gnu`).
pub fn valid_target(target: &str) -> bool {
    (1..=100).contains(&target.len())
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !target.starts_with('.')
}

#[cfg(test)]
mod tests;
