//! Artifacts in the lattice: references (`floe://sha256:HEX`,
//! `floe://NAME:TAG`), where their bytes live (the lattice's JetStream
//! object store, one object per digest), and the tag records that name
//! them (sealed entries of the lattice's KV bucket).

use serde::{Deserialize, Serialize};

/// The scheme of every artifact reference.
pub const SCHEME: &str = "floe://";
/// KV keys of tag records start with this.
pub const TAG_KEY_PREFIX: &str = "artifact.";

/// What an artifact reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactRef {
    /// `floe://sha256:HEX`: exactly these bytes.
    Digest(String),
    /// `floe://NAME:TAG`: whatever the tag points at now.
    Tag { name: String, tag: String },
}

/// A reference that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{reference}` is not an artifact reference: {reason} (use floe://sha256:HEX or floe://NAME:TAG)"
)]
pub struct RefError {
    reference: String,
    reason: &'static str,
}

/// 64 lowercase hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn valid_part(part: &str) -> bool {
    (1..=128).contains(&part.len())
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ArtifactRef {
    /// The reference in `text`, or `None` when `text` is not a `floe://`
    /// reference at all (a file path, say).
    pub fn parse(text: &str) -> Option<Result<Self, RefError>> {
        let rest = text.strip_prefix(SCHEME)?;
        let bad = |reason| RefError {
            reference: text.to_owned(),
            reason,
        };
        Some(match rest.split_once(':') {
            Some(("sha256", hex)) if is_sha256_hex(hex) => Ok(ArtifactRef::Digest(hex.to_owned())),
            Some(("sha256", _)) => Err(bad("a digest is 64 lowercase hex digits")),
            Some((name, tag)) if valid_part(name) && valid_part(tag) => Ok(ArtifactRef::Tag {
                name: name.to_owned(),
                tag: tag.to_owned(),
            }),
            Some(_) => Err(bad("a name and a tag are 1 to 128 of [a-zA-Z0-9._-]")),
            None => Err(bad("a name needs a tag")),
        })
    }

    /// A `NAME:TAG` given to `floe push --name`.
    pub fn tag(text: &str) -> Result<Self, RefError> {
        match Self::parse(&format!("{SCHEME}{text}")) {
            Some(Ok(ArtifactRef::Tag { name, tag })) => Ok(ArtifactRef::Tag { name, tag }),
            Some(Err(e)) => Err(e),
            _ => Err(RefError {
                reference: text.to_owned(),
                reason: "a tag is NAME:TAG",
            }),
        }
    }
}

impl std::fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArtifactRef::Digest(hex) => write!(f, "{SCHEME}sha256:{hex}"),
            ArtifactRef::Tag { name, tag } => write!(f, "{SCHEME}{name}:{tag}"),
        }
    }
}

/// The object holding the artifact with digest `hex`.
pub fn object_name(hex: &str) -> String {
    format!("sha256-{hex}")
}

/// The lattice's object store of artifacts.
pub fn bucket_name(lattice: &crate::LatticeId) -> String {
    format!("floe-{lattice}-artifacts")
}

/// The KV key of the tag record `name:tag` (both already valid parts, so
/// valid in NATS keys; `=`, which neither may hold, separates them).
pub fn tag_key(name: &str, tag: &str) -> String {
    format!("{TAG_KEY_PREFIX}{name}={tag}")
}

/// What a pushed artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A signed actor component.
    Actor,
    /// A signed provider archive.
    Provider,
}

/// A tag: `name:tag` points at the artifact with this digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactTag {
    pub name: String,
    pub tag: String,
    /// sha256 hex of the artifact's bytes.
    pub digest: String,
    pub kind: ArtifactKind,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_print_back() {
        let hex = "ab".repeat(32);
        let digest = format!("floe://sha256:{hex}");
        assert_eq!(
            ArtifactRef::parse(&digest),
            Some(Ok(ArtifactRef::Digest(hex.clone())))
        );
        assert_eq!(
            ArtifactRef::parse(&digest)
                .and_then(Result::ok)
                .map(|r| r.to_string()),
            Some(digest)
        );
        let tagged = ArtifactRef::parse("floe://echo:0.1.0")
            .expect("a ref")
            .expect("valid");
        assert_eq!(tagged.to_string(), "floe://echo:0.1.0");
        assert_eq!(ArtifactRef::parse("/tmp/echo.wasm"), None, "a path");
        for bad in [
            "floe://sha256:ABC",
            "floe://echo",
            "floe://ec ho:1",
            "floe://echo:",
        ] {
            let err = ArtifactRef::parse(bad).expect("a ref").expect_err(bad);
            assert!(err.to_string().contains("floe://NAME:TAG"), "{err}");
        }
        assert!(ArtifactRef::tag("echo:v1").is_ok());
        assert!(ArtifactRef::tag("echo").is_err());
        assert_eq!(tag_key("echo", "0.1.0"), "artifact.echo=0.1.0");
    }
}
