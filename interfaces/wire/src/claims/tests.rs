//! Tests of signing and verification over small components built from text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::component::{self, ComponentError};
use super::*;
use crate::keys::KeyKind;

const NOW: u64 = 1_800_000_000;

fn component_bytes() -> Vec<u8> {
    wat::parse_str(
        r#"(component
            (core module $m (func (export "f") (result i32) i32.const 42))
            (core instance $i (instantiate $m))
            (func (export "answer") (result s32) (canon lift (core func $i "f")))
        )"#,
    )
    .expect("test component parses")
}

struct Signer {
    issuer: nkeys::KeyPair,
    subject: String,
}

impl Signer {
    fn new() -> Self {
        Self {
            issuer: KeyKind::Account.generate(),
            subject: KeyKind::Actor.generate().public_key(),
        }
    }

    fn request(&self) -> SignRequest<'_> {
        SignRequest {
            issuer: &self.issuer,
            subject: self.subject.clone(),
            name: "answer".to_owned(),
            version: "1.0.0".to_owned(),
            revision: 1,
            caps: vec!["wasi:keyvalue/store".parse().expect("cap")],
            tags: vec!["test".to_owned()],
            now: NOW,
            not_before: None,
            expires: None,
        }
    }

    fn sign(&self) -> Vec<u8> {
        sign(&component_bytes(), &self.request()).expect("sign")
    }
}

#[test]
fn sign_then_verify_round_trips() {
    let signer = Signer::new();
    let signed = signer.sign();
    let claims = verify(&signed, NOW, &VerifyPolicy::default()).expect("verifies");
    assert_eq!(claims.iss, signer.issuer.public_key());
    assert_eq!(claims.sub, signer.subject);
    assert_eq!(claims.floe.name, "answer");
    assert_eq!(claims.floe.revision, 1);
    assert!(claims.grants("wasi:keyvalue/store@0.2.0-draft"));
    assert!(!claims.grants("wasi:http/outgoing-handler"));
    wasmparser::Validator::new()
        .validate_all(&signed)
        .expect("a signed component is still a valid component");
}

#[test]
fn resigning_replaces_the_section_and_keeps_the_subject() {
    let signer = Signer::new();
    let signed = signer.sign();
    let previous = existing_claims(&signed)
        .expect("parses")
        .expect("has claims");
    let other_issuer = KeyKind::Account.generate();
    let mut request = signer.request();
    request.issuer = &other_issuer;
    request.subject = previous.sub.clone();
    request.revision = 2;
    let resigned = sign(&signed, &request).expect("re-sign");
    let parts = component::split(&resigned).expect("split");
    assert_eq!(
        parts.tokens.len(),
        1,
        "exactly one claims section after re-signing"
    );
    let claims = verify(&resigned, NOW, &VerifyPolicy::default()).expect("verifies");
    assert_eq!(claims.sub, signer.subject);
    assert_eq!(claims.iss, other_issuer.public_key());
    assert_eq!(claims.floe.revision, 2);
    assert_eq!(claims.floe.hash, previous.floe.hash, "same code, same hash");
}

#[test]
fn every_changed_code_byte_is_refused() {
    let (bytes, claims_start) = Signer::new().signed_parts();
    let body_bytes = section_bodies(&bytes[..claims_start]);
    assert!(!body_bytes.is_empty());
    for i in 8..claims_start {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        let result = verify(&tampered, NOW, &VerifyPolicy::default());
        if body_bytes.contains(&i) {
            // Inside a section's body: the framing still parses, the code
            // differs, so the verdict is exactly "tampered".
            assert!(
                matches!(result, Err(VerifyError::HashMismatch { .. })),
                "flipping body byte {i} gave {result:?}"
            );
        } else {
            // A section id or length: the walk may go anywhere, but the
            // component never verifies.
            assert!(result.is_err(), "flipping framing byte {i} verified");
        }
    }
}

/// Offsets of the body bytes of every non-custom top-level section.
fn section_bodies(component: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < component.len() {
        let id = component[pos];
        pos += 1;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let b = component[pos];
            pos += 1;
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        if id != 0 {
            out.extend(pos..pos + size);
        }
        pos += size;
    }
    out
}

impl Signer {
    /// The signed bytes and the offset where the claims section starts.
    fn signed_parts(&self) -> (Vec<u8>, usize) {
        let unsigned = component_bytes();
        (self.sign(), unsigned.len())
    }
}

#[test]
fn a_changed_claim_breaks_the_signature() {
    let signed = Signer::new().sign();
    let unsigned_len = component_bytes().len();
    let parts = component::split(&signed).expect("split");
    let token = std::str::from_utf8(parts.tokens[0])
        .expect("utf8")
        .to_owned();
    let mut pieces: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&pieces[1]).expect("b64")).expect("json");
    payload["floe"]["caps"] = serde_json::json!(["wasi:http/outgoing-handler"]);
    pieces[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).expect("json"));
    let forged = pieces.join(".");
    let mut out = signed[..unsigned_len].to_vec();
    component::append_claims(&mut out, forged.as_bytes());
    let err = verify(&out, NOW, &VerifyPolicy::default()).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
    let inspection = inspect(&out, NOW, &VerifyPolicy::default()).expect("inspect");
    assert!(!inspection.signature_valid);
    assert!(inspection.hash_valid);
}

#[test]
fn validity_window_is_enforced_with_leeway() {
    let signer = Signer::new();
    let mut request = signer.request();
    request.not_before = Some(NOW + 3600);
    request.expires = Some(NOW + 7200);
    let signed = sign(&component_bytes(), &request).expect("sign");
    let strict = VerifyPolicy {
        leeway_secs: 0,
        ..VerifyPolicy::default()
    };
    assert_eq!(
        verify(&signed, NOW, &strict).unwrap_err(),
        VerifyError::NotYetValid {
            valid_from: NOW + 3600
        }
    );
    assert!(verify(&signed, NOW + 3600, &strict).is_ok());
    assert_eq!(
        verify(&signed, NOW + 7200, &strict).unwrap_err(),
        VerifyError::Expired {
            expired_at: NOW + 7200
        }
    );
    let lenient = VerifyPolicy::default();
    assert!(
        verify(&signed, NOW + 3600 - 10, &lenient).is_ok(),
        "skew tolerated"
    );
    assert!(
        verify(&signed, NOW + 7200 + 10, &lenient).is_ok(),
        "skew tolerated"
    );
}

#[test]
fn an_empty_validity_window_cannot_be_signed() {
    let signer = Signer::new();
    let mut request = signer.request();
    request.not_before = Some(NOW + 10);
    request.expires = Some(NOW + 10);
    assert!(matches!(
        sign(&component_bytes(), &request),
        Err(SignError::Signer(
            crate::claims::SignerError::EmptyValidity { .. }
        ))
    ));
}

#[test]
fn issuer_allow_list_is_enforced() {
    let signer = Signer::new();
    let signed = signer.sign();
    let allowed = VerifyPolicy {
        allowed_issuers: vec![signer.issuer.public_key()],
        ..VerifyPolicy::default()
    };
    assert!(verify(&signed, NOW, &allowed).is_ok());
    let other = VerifyPolicy {
        allowed_issuers: vec![KeyKind::Account.generate().public_key()],
        ..VerifyPolicy::default()
    };
    assert_eq!(
        verify(&signed, NOW, &other).unwrap_err(),
        VerifyError::IssuerNotAllowed {
            issuer: signer.issuer.public_key()
        }
    );
}

#[test]
fn unsigned_core_and_garbage_inputs_have_their_own_reasons() {
    let policy = VerifyPolicy::default();
    assert_eq!(
        verify(&component_bytes(), NOW, &policy),
        Err(VerifyError::Unsigned)
    );
    let core = wat::parse_str("(module)").expect("module");
    assert_eq!(
        verify(&core, NOW, &policy),
        Err(VerifyError::NotAComponent(ComponentError::CoreModule))
    );
    assert_eq!(
        verify(b"", NOW, &policy),
        Err(VerifyError::NotAComponent(ComponentError::Empty))
    );
    assert_eq!(
        verify(b"hello, world", NOW, &policy),
        Err(VerifyError::NotAComponent(ComponentError::NotWasm))
    );
    let signed = Signer::new().sign();
    for len in 0..signed.len() {
        assert!(
            verify(&signed[..len], NOW, &policy).is_err(),
            "prefix of {len} bytes verified"
        );
    }
}

#[test]
fn the_wrong_key_kinds_cannot_sign() {
    let actor_key = KeyKind::Actor.generate();
    let signer = Signer::new();
    let mut request = signer.request();
    request.issuer = &actor_key;
    assert!(matches!(
        sign(&component_bytes(), &request),
        Err(SignError::Signer(crate::claims::SignerError::Issuer(_)))
    ));
    let mut request = signer.request();
    request.subject = signer.issuer.public_key();
    assert!(matches!(
        sign(&component_bytes(), &request),
        Err(SignError::Signer(crate::claims::SignerError::Subject(_)))
    ));
    let core = wat::parse_str("(module)").expect("module");
    assert!(matches!(
        sign(&core, &signer.request()),
        Err(SignError::NotAComponent(_))
    ));
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { len: usize },
    Set { at: usize, value: u8 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_components_never_verify(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let original = Signer::new().sign();
        let mut bytes = original.clone();
        for m in mutations {
            match m {
                Mutation::Flip { at, mask } => {
                    let i = at % bytes.len().max(1);
                    if let Some(b) = bytes.get_mut(i) { *b ^= mask; }
                }
                Mutation::Truncate { len } => { let n = len % (bytes.len() + 1); bytes.truncate(n); }
                Mutation::Set { at, value } => {
                    let i = at % bytes.len().max(1);
                    if let Some(b) = bytes.get_mut(i) { *b = value; }
                }
            }
        }
        let result = verify(&bytes, NOW, &VerifyPolicy::default());
        if bytes == original {
            prop_assert!(result.is_ok());
        } else {
            prop_assert!(result.is_err(), "a mutated component verified");
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verify(&bytes, NOW, &VerifyPolicy::default());
        let mut prefixed = b"\0asm\x0d\0\x01\0".to_vec();
        prefixed.extend_from_slice(&bytes);
        prop_assert!(verify(&prefixed, NOW, &VerifyPolicy::default()).is_err());
        let _ = existing_claims(&prefixed);
    }
}
