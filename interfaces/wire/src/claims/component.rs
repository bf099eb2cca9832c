//! The claims' place inside a component: a custom section named
//! [`CLAIMS_SECTION`] at the top level of the component binary.
//!
//! This module walks the top-level sections of a component (without parsing
//! what is inside them), hashes everything but the claims section, finds the
//! embedded token, and writes a component with a new claims section. It never
//! trusts a length it has not checked against the input.

use sha2::{Digest, Sha256};

/// The name of the custom section that holds a component's claims JWT.
pub const CLAIMS_SECTION: &str = "floe-claims";

const MAGIC: &[u8; 4] = b"\0asm";
/// Version 0x0d, layer 1: the component-model binary header.
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
const CORE_MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

/// Why bytes are not a well-formed component at the section level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComponentError {
    #[error("the input is empty")]
    Empty,
    #[error("not WebAssembly (no `\\0asm` header)")]
    NotWasm,
    #[error(
        "this is a core WebAssembly module, not a component: build for wasm32-wasip2 or wrap it with `wasm-tools component new`"
    )]
    CoreModule,
    #[error("unsupported WebAssembly binary version {0:02x?}")]
    UnknownVersion([u8; 4]),
    #[error("truncated or malformed at byte {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
}

/// A component split along its claims section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentParts<'a> {
    /// sha256 of the component with every claims section removed.
    pub code_hash: [u8; 32],
    /// The payloads of the claims sections, in order (normally zero or one).
    pub tokens: Vec<&'a [u8]>,
    /// The byte ranges of every other section (the header included).
    kept: Vec<std::ops::Range<usize>>,
}

impl ComponentParts<'_> {
    /// The component without any claims section.
    pub fn stripped(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for range in &self.kept {
            out.extend_from_slice(&bytes[range.clone()]);
        }
        out
    }
}

/// Checks the component header and walks its top-level sections.
pub fn split(bytes: &[u8]) -> Result<ComponentParts<'_>, ComponentError> {
    check_header(bytes)?;
    let mut hasher = Sha256::new();
    hasher.update(&bytes[..8]);
    let header: std::ops::Range<usize> = 0..8;
    let mut kept = Vec::new();
    kept.push(header);
    let mut tokens = Vec::new();
    let mut pos = 8;
    while pos < bytes.len() {
        let start = pos;
        let id = bytes[pos];
        pos += 1;
        let size = read_u32(bytes, &mut pos)? as usize;
        let end = pos
            .checked_add(size)
            .filter(|end| *end <= bytes.len())
            .ok_or(ComponentError::Malformed {
                offset: start,
                what: "section runs past the end of the input",
            })?;
        let section = &bytes[start..end];
        if id == 0 {
            let mut name_pos = pos;
            let name_len = read_u32(&bytes[..end], &mut name_pos)? as usize;
            let name_end = name_pos.checked_add(name_len).filter(|e| *e <= end).ok_or(
                ComponentError::Malformed {
                    offset: pos,
                    what: "custom section name runs past its section",
                },
            )?;
            if &bytes[name_pos..name_end] == CLAIMS_SECTION.as_bytes() {
                tokens.push(&bytes[name_end..end]);
                pos = end;
                continue;
            }
        }
        hasher.update(section);
        kept.push(start..end);
        pos = end;
    }
    Ok(ComponentParts {
        code_hash: hasher.finalize().into(),
        tokens,
        kept,
    })
}

fn check_header(bytes: &[u8]) -> Result<(), ComponentError> {
    if bytes.is_empty() {
        return Err(ComponentError::Empty);
    }
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(ComponentError::NotWasm);
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&bytes[4..8]);
    match version {
        COMPONENT_VERSION => Ok(()),
        CORE_MODULE_VERSION => Err(ComponentError::CoreModule),
        other => Err(ComponentError::UnknownVersion(other)),
    }
}

/// Reads an unsigned LEB128 u32, refusing overlong or truncated encodings.
fn read_u32(bytes: &[u8], pos: &mut usize) -> Result<u32, ComponentError> {
    let start = *pos;
    let mut result: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos).ok_or(ComponentError::Malformed {
            offset: start,
            what: "truncated length",
        })?;
        *pos += 1;
        if shift == 28 && byte > 0x0f {
            break;
        }
        result |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(result);
        }
    }
    Err(ComponentError::Malformed {
        offset: start,
        what: "length does not fit in 32 bits",
    })
}

fn write_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends a claims custom section holding `token` to `stripped`.
pub fn append_claims(stripped: &mut Vec<u8>, token: &[u8]) {
    let mut body = Vec::with_capacity(token.len() + CLAIMS_SECTION.len() + 2);
    // Names and tokens are far below 4 GiB; a token cannot exceed u32 here.
    write_u32(&mut body, CLAIMS_SECTION.len() as u32);
    body.extend_from_slice(CLAIMS_SECTION.as_bytes());
    body.extend_from_slice(token);
    stripped.push(0);
    write_u32(stripped, body.len() as u32);
    stripped.extend_from_slice(&body);
}

/// The sha256 in the `sha256:HEX` form claims use.
pub fn format_hash(hash: &[u8; 32]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips_and_rejects_overlong() {
        for v in [0u32, 1, 127, 128, 300, 16_384, u32::MAX] {
            let mut buf = Vec::new();
            write_u32(&mut buf, v);
            let mut pos = 0;
            assert_eq!(read_u32(&buf, &mut pos), Ok(v));
            assert_eq!(pos, buf.len());
        }
        let mut pos = 0;
        assert!(read_u32(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut pos).is_err());
        let mut pos = 0;
        assert!(read_u32(&[0x80], &mut pos).is_err());
    }

    #[test]
    fn headers_are_classified() {
        assert_eq!(split(b""), Err(ComponentError::Empty));
        assert_eq!(split(b"hello world"), Err(ComponentError::NotWasm));
        assert_eq!(split(b"\0asm\x01\0\0\0"), Err(ComponentError::CoreModule));
        assert!(split(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
