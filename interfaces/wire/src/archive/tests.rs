use std::io::Write as _;

use super::*;
use crate::claims::{Capability, VerifyError, VerifyPolicy};
use crate::keys::KeyKind;

const NOW: u64 = 1_800_000_000;
const LINUX: &str = "x86_64-unknown-linux-gnu";
const MAC: &str = "aarch64-apple-darwin";

struct Packer {
    issuer: nkeys::KeyPair,
    subject: String,
}

impl Packer {
    fn new() -> Self {
        Self {
            issuer: KeyKind::Account.generate(),
            subject: KeyKind::Provider.generate().public_key(),
        }
    }

    fn request(&self) -> PackageRequest<'_> {
        PackageRequest {
            issuer: &self.issuer,
            subject: self.subject.clone(),
            name: "greeter".to_owned(),
            version: "1.2.0".to_owned(),
            revision: 3,
            implements: vec!["acme:greet/greeter".parse::<Capability>().expect("cap")],
            binaries: vec![
                (LINUX.to_owned(), b"\x7fELF linux binary".to_vec()),
                (MAC.to_owned(), b"mach-o binary".to_vec()),
            ],
            tags: vec!["example".to_owned()],
            now: NOW,
            not_before: None,
            expires: None,
        }
    }
}

fn policy() -> VerifyPolicy {
    VerifyPolicy::default()
}

/// A gzip tar with exactly these entries, as any tool could make one.
fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gzip);
    for (path, bytes) in entries {
        // The name is written raw, so hostile names (`..`) can be made too.
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append(&header, *bytes).expect("append");
    }
    let mut gzip = tar.into_inner().expect("tar");
    gzip.flush().expect("flush");
    gzip.finish().expect("gzip")
}

/// The entries of a real archive, to rebuild it altered.
fn entries_of(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    tar.entries()
        .expect("entries")
        .map(|e| {
            let mut e = e.expect("entry");
            let path = e.path().expect("path").to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).expect("read");
            (path, bytes)
        })
        .collect()
}

fn rebuild(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let borrowed: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    tar_of(&borrowed)
}

#[test]
fn package_then_open_round_trips_and_picks_the_hosts_binary() {
    let packer = Packer::new();
    let bytes = package(&packer.request()).expect("package");
    assert!(looks_like_archive(&bytes));
    let archive = open(&bytes, NOW, &policy()).expect("opens");
    assert_eq!(archive.claims.sub, packer.subject);
    assert_eq!(archive.claims.iss, packer.issuer.public_key());
    assert_eq!(archive.claims.floe.name, "greeter");
    assert_eq!(
        archive.claims.floe.implements[0].to_string(),
        "acme:greet/greeter"
    );
    assert_eq!(archive.targets(), vec![MAC.to_owned(), LINUX.to_owned()]);
    let (target, binary) = archive.binary_for(LINUX).expect("linux");
    assert_eq!((target, binary), (LINUX, &b"\x7fELF linux binary"[..]));
    let (target, _) = archive.binary_for(MAC).expect("mac");
    assert_eq!(target, MAC);
}

#[test]
fn a_host_without_its_target_is_told_the_targets_there_are() {
    let packer = Packer::new();
    let archive = open(
        &package(&packer.request()).expect("package"),
        NOW,
        &policy(),
    )
    .expect("ok");
    let err = archive
        .binary_for("riscv64gc-unknown-linux-gnu")
        .expect_err("no riscv binary");
    assert_eq!(
        err,
        ArchiveError::NoBinaryForTarget {
            target: "riscv64gc-unknown-linux-gnu".to_owned(),
            available: vec![MAC.to_owned(), LINUX.to_owned()],
        }
    );
    let text = err.to_string();
    assert!(text.contains(MAC) && text.contains(LINUX), "{text}");
}

#[test]
fn a_glibc_host_falls_back_to_a_static_musl_binary() {
    let packer = Packer::new();
    let mut request = packer.request();
    request.binaries = vec![("x86_64-unknown-linux-musl".to_owned(), b"static".to_vec())];
    let archive = open(&package(&request).expect("package"), NOW, &policy()).expect("ok");
    let (target, _) = archive.binary_for(LINUX).expect("musl runs on glibc");
    assert_eq!(target, "x86_64-unknown-linux-musl");
    assert!(archive.binary_for("x86_64-unknown-linux-musl").is_ok());
    assert!(archive.binary_for("aarch64-unknown-linux-gnu").is_err());
}

#[test]
fn packaging_is_deterministic_apart_from_the_token_id() {
    let packer = Packer::new();
    let a = entries_of(&package(&packer.request()).expect("a"));
    let b = entries_of(&package(&packer.request()).expect("b"));
    let names: Vec<&str> = a.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        vec![
            CLAIMS_ENTRY,
            "bin/aarch64-apple-darwin",
            "bin/x86_64-unknown-linux-gnu"
        ]
    );
    assert_eq!(a[1..], b[1..]);
}

#[test]
fn a_changed_binary_byte_is_refused_as_tampered() {
    let packer = Packer::new();
    let mut entries = entries_of(&package(&packer.request()).expect("package"));
    let linux = entries
        .iter_mut()
        .find(|(p, _)| p.ends_with(LINUX))
        .expect("linux entry");
    linux.1[0] ^= 0x01;
    let err = open(&rebuild(&entries), NOW, &policy()).expect_err("tampered");
    assert!(
        matches!(&err, ArchiveError::BinaryTampered { target, .. } if target == LINUX),
        "{err}"
    );
    assert_eq!(err.code(), "tampered");
}

#[test]
fn changed_claims_break_the_signature() {
    let packer = Packer::new();
    let mut entries = entries_of(&package(&packer.request()).expect("package"));
    // Re-encode the payload with another subject, keeping the signature.
    let token = String::from_utf8(entries[0].1.clone()).expect("utf8");
    let parts: Vec<&str> = token.split('.').collect();
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: serde_json::Value =
        serde_json::from_slice(&engine.decode(parts[1]).expect("b64")).expect("json");
    payload["sub"] = KeyKind::Provider.generate().public_key().into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(serde_json::to_vec(&payload).expect("json")),
        parts[2]
    );
    entries[0].1 = forged.into_bytes();
    let err = open(&rebuild(&entries), NOW, &policy()).expect_err("forged");
    assert!(
        matches!(err, ArchiveError::Claims(VerifyError::BadSignature { .. })),
        "{err}"
    );
}

#[test]
fn added_or_removed_binaries_are_refused() {
    let packer = Packer::new();
    let entries = entries_of(&package(&packer.request()).expect("package"));
    let mut added = entries.clone();
    added.push((
        "bin/aarch64-unknown-linux-gnu".to_owned(),
        b"extra".to_vec(),
    ));
    assert_eq!(
        open(&rebuild(&added), NOW, &policy()).expect_err("added"),
        ArchiveError::UnlistedBinary("aarch64-unknown-linux-gnu".to_owned())
    );
    let removed: Vec<_> = entries
        .into_iter()
        .filter(|(p, _)| !p.ends_with(MAC))
        .collect();
    assert_eq!(
        open(&rebuild(&removed), NOW, &policy()).expect_err("removed"),
        ArchiveError::MissingBinary(MAC.to_owned())
    );
}

#[test]
fn malformed_archives_get_their_reason() {
    let packer = Packer::new();
    let good = package(&packer.request()).expect("package");
    assert!(matches!(
        open(b"\x7fELF\x02\x01", NOW, &policy()),
        Err(ArchiveError::NotAnArchive(_))
    ));
    assert!(matches!(
        open(&good[..good.len() / 2], NOW, &policy()),
        Err(ArchiveError::NotAnArchive(_))
    ));
    assert_eq!(
        open(
            &tar_of(&[("bin/x86_64-unknown-linux-gnu", b"x")]),
            NOW,
            &policy()
        )
        .expect_err("no claims"),
        ArchiveError::Unsigned
    );
    assert_eq!(
        open(&tar_of(&[("etc/passwd", b"x")]), NOW, &policy()).expect_err("stray"),
        ArchiveError::UnexpectedEntry("etc/passwd".to_owned())
    );
    assert_eq!(
        open(&tar_of(&[("bin/../../x", b"x")]), NOW, &policy()).expect_err("escape"),
        ArchiveError::UnexpectedEntry("bin/../../x".to_owned())
    );
    assert!(matches!(
        open(&tar_of(&[(CLAIMS_ENTRY, b"not.a.token")]), NOW, &policy()),
        Err(ArchiveError::MalformedToken(_))
    ));
    let many: Vec<(String, Vec<u8>)> = (0..=MAX_ENTRIES)
        .map(|i| (format!("bin/t{i}"), vec![1]))
        .collect();
    assert_eq!(
        open(&rebuild(&many), NOW, &policy()).expect_err("many"),
        ArchiveError::TooManyEntries
    );
    // An actor's claims token is not a provider's.
    let actor_token = crate::claims::token::encode(
        &serde_json::json!({"iss": packer.issuer.public_key(), "sub": KeyKind::Actor.generate().public_key(),
            "iat": NOW, "jti": "x", "floe": {"v": 1, "hash": "sha256:00", "name": "a", "version": "1", "revision": 0}}),
        &packer.issuer,
    )
    .expect("token");
    assert!(matches!(
        open(
            &tar_of(&[(CLAIMS_ENTRY, actor_token.as_bytes())]),
            NOW,
            &policy()
        ),
        Err(ArchiveError::MalformedToken(_))
    ));
}

#[test]
fn validity_and_issuer_policy_apply_to_archives() {
    let packer = Packer::new();
    let mut request = packer.request();
    request.expires = Some(NOW + 60);
    let bytes = package(&request).expect("package");
    assert!(open(&bytes, NOW, &policy()).is_ok());
    assert_eq!(
        open(&bytes, NOW + 3600, &policy())
            .expect_err("expired")
            .code(),
        "expired"
    );
    let strict = VerifyPolicy {
        allowed_issuers: vec![KeyKind::Account.generate().public_key()],
        ..VerifyPolicy::default()
    };
    assert_eq!(
        open(&bytes, NOW, &strict).expect_err("foreign").code(),
        "issuer_not_allowed"
    );
}

#[test]
fn bad_package_requests_are_refused() {
    let packer = Packer::new();
    let mut request = packer.request();
    request.binaries.clear();
    assert!(matches!(package(&request), Err(PackageError::NoBinaries)));
    let mut request = packer.request();
    request.binaries.push((LINUX.to_owned(), b"again".to_vec()));
    assert!(matches!(
        package(&request),
        Err(PackageError::DuplicateTarget(_))
    ));
    let mut request = packer.request();
    request.binaries = vec![("../evil".to_owned(), b"x".to_vec())];
    assert!(matches!(package(&request), Err(PackageError::BadTarget(_))));
    let mut request = packer.request();
    request.subject = KeyKind::Actor.generate().public_key();
    assert!(matches!(
        package(&request),
        Err(PackageError::Signer(crate::claims::SignerError::Subject(_)))
    ));
    let not_an_account = KeyKind::Provider.generate();
    let mut request = packer.request();
    request.issuer = &not_an_account;
    assert!(matches!(
        package(&request),
        Err(PackageError::Signer(crate::claims::SignerError::Issuer(_)))
    ));
}
