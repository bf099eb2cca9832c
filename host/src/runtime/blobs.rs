//! The fast path for bytes and strings: an export whose one parameter and
//! result (if any) are `list<u8>` or `string` is called through a typed
//! function, so a payload of many MiB crosses as one buffer instead of one
//! dynamic `Val` per byte (~40× its size in memory, and past wasmtime's
//! hostcall fuel for results of a few MiB). Any other shape, or a payload
//! this path does not read (WAVE, an array of numbers in msgpack), takes the
//! general path through `codec`.

use floe_wire::{Encoding, ErrorKind, InvocationError};
use wasmtime::Store;
use wasmtime::component::{Func, Type};

use super::state::InstanceState;

/// What one side of a blob function carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    Bytes,
    Text,
}

/// The shape of a function this path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobSignature {
    pub param: BlobKind,
    pub result: Option<BlobKind>,
}

/// One blob value.
#[derive(Debug)]
pub enum Blob {
    Bytes(Vec<u8>),
    Text(String),
}

fn kind(ty: &Type) -> Option<BlobKind> {
    match ty {
        Type::String => Some(BlobKind::Text),
        Type::List(list) if list.ty() == Type::U8 => Some(BlobKind::Bytes),
        _ => None,
    }
}

/// The blob shape of a function with these types, if it has one.
pub fn signature(params: &[(String, Type)], results: &[Type]) -> Option<BlobSignature> {
    let [(_, param)] = params else {
        return None;
    };
    let result = match results {
        [] => None,
        [ty] => Some(kind(ty)?),
        _ => return None,
    };
    Some(BlobSignature {
        param: kind(param)?,
        result,
    })
}

/// The argument, when `payload` holds it in a form this path reads:
/// msgpack `[bin]` / `[str]`, or JSON `[[numbers…]]` / `["text"]`.
pub fn decode_param(encoding: Encoding, payload: &[u8], kind: BlobKind) -> Option<Blob> {
    match encoding {
        Encoding::Msgpack => {
            let (&first, rest) = payload.split_first()?;
            if first != 0x91 {
                return None;
            }
            let (marker, rest) = rest.split_first()?;
            let (len, body) = match (kind, marker) {
                (BlobKind::Bytes, 0xc4) | (BlobKind::Text, 0xd9) => split_len(rest, 1)?,
                (BlobKind::Bytes, 0xc5) | (BlobKind::Text, 0xda) => split_len(rest, 2)?,
                (BlobKind::Bytes, 0xc6) | (BlobKind::Text, 0xdb) => split_len(rest, 4)?,
                (BlobKind::Text, m) if m & 0xe0 == 0xa0 => (usize::from(m & 0x1f), rest),
                _ => return None,
            };
            if body.len() != len {
                return None;
            }
            match kind {
                BlobKind::Bytes => Some(Blob::Bytes(body.to_vec())),
                BlobKind::Text => std::str::from_utf8(body)
                    .ok()
                    .map(|s| Blob::Text(s.to_owned())),
            }
        }
        Encoding::Json => match kind {
            BlobKind::Bytes => serde_json::from_slice::<(Vec<u8>,)>(payload)
                .ok()
                .map(|(b,)| Blob::Bytes(b)),
            BlobKind::Text => serde_json::from_slice::<(String,)>(payload)
                .ok()
                .map(|(s,)| Blob::Text(s)),
        },
        Encoding::Wave => None,
    }
}

/// A big-endian length of `width` bytes, and what follows it.
fn split_len(bytes: &[u8], width: usize) -> Option<(usize, &[u8])> {
    if bytes.len() < width {
        return None;
    }
    let (len, rest) = bytes.split_at(width);
    let len = len.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
    Some((len, rest))
}

/// The result in `encoding` (WAVE never reaches here).
pub fn encode_result(encoding: Encoding, result: Option<Blob>) -> Result<Vec<u8>, InvocationError> {
    let internal = |e: serde_json::Error| InvocationError::new(ErrorKind::Internal, e.to_string());
    match (encoding, result) {
        (Encoding::Msgpack, None) => Ok(vec![0xc0]),
        (_, None) => Ok(b"null".to_vec()),
        (Encoding::Msgpack, Some(Blob::Bytes(b))) => msgpack(&b, None, [0xc4, 0xc5, 0xc6]),
        (Encoding::Msgpack, Some(Blob::Text(s))) => {
            msgpack(s.as_bytes(), Some(0xa0), [0xd9, 0xda, 0xdb])
        }
        (_, Some(Blob::Bytes(b))) => serde_json::to_vec(&b).map_err(internal),
        (_, Some(Blob::Text(s))) => serde_json::to_vec(&s).map_err(internal),
    }
}

/// `body` as a msgpack bin or str in its shortest form: a fix marker (str
/// under 32 bytes), else the 8-, 16- or 32-bit length marker.
fn msgpack(body: &[u8], fix: Option<u8>, markers: [u8; 3]) -> Result<Vec<u8>, InvocationError> {
    let len = body.len();
    let mut out = Vec::with_capacity(len + 5);
    match (
        fix,
        u8::try_from(len),
        u16::try_from(len),
        u32::try_from(len),
    ) {
        (Some(fix), Ok(n), _, _) if n < 32 => out.push(fix | n),
        (_, Ok(n), _, _) => out.extend_from_slice(&[markers[0], n]),
        (_, _, Ok(n), _) => {
            out.push(markers[1]);
            out.extend_from_slice(&n.to_be_bytes());
        }
        (_, _, _, Ok(n)) => {
            out.push(markers[2]);
            out.extend_from_slice(&n.to_be_bytes());
        }
        _ => {
            return Err(InvocationError::new(
                ErrorKind::Internal,
                format!("a result of {len} bytes does not fit msgpack"),
            ));
        }
    }
    out.extend_from_slice(body);
    Ok(out)
}

/// Calls `func` (of shape `sig`) with `arg` through a typed function.
pub async fn call(
    store: &mut Store<InstanceState>,
    func: Func,
    sig: BlobSignature,
    arg: Blob,
) -> wasmtime::Result<Option<Blob>> {
    macro_rules! typed {
        ($param:ty, $arg:expr, $result:ty, $wrap:expr) => {{
            let f = func.typed::<($param,), $result>(&*store)?;
            let out = f.call_async(&mut *store, ($arg,)).await?;
            Ok($wrap(out))
        }};
    }
    match (arg, sig.result) {
        (Blob::Bytes(b), None) => typed!(Vec<u8>, b, (), |()| None),
        (Blob::Text(s), None) => typed!(String, s, (), |()| None),
        (Blob::Bytes(b), Some(BlobKind::Bytes)) => {
            typed!(Vec<u8>, b, (Vec<u8>,), |(r,)| Some(Blob::Bytes(r)))
        }
        (Blob::Bytes(b), Some(BlobKind::Text)) => {
            typed!(Vec<u8>, b, (String,), |(r,)| Some(Blob::Text(r)))
        }
        (Blob::Text(s), Some(BlobKind::Bytes)) => {
            typed!(String, s, (Vec<u8>,), |(r,)| Some(Blob::Bytes(r)))
        }
        (Blob::Text(s), Some(BlobKind::Text)) => {
            typed!(String, s, (String,), |(r,)| Some(Blob::Text(r)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_and_json_blobs_are_read_and_written() {
        let mut arg = vec![0x91, 0xc6, 0, 0, 0, 3];
        arg.extend_from_slice(&[1, 2, 3]);
        assert!(matches!(
            decode_param(Encoding::Msgpack, &arg, BlobKind::Bytes),
            Some(Blob::Bytes(b)) if b == [1, 2, 3]
        ));
        // Truncated, or another type: left to the general path.
        assert!(decode_param(Encoding::Msgpack, &arg[..7], BlobKind::Bytes).is_none());
        assert!(decode_param(Encoding::Msgpack, &arg, BlobKind::Text).is_none());
        assert!(matches!(
            decode_param(Encoding::Msgpack, b"\x91\xa2hi", BlobKind::Text),
            Some(Blob::Text(s)) if s == "hi"
        ));
        assert!(matches!(
            decode_param(Encoding::Json, b"[[1,2]]", BlobKind::Bytes),
            Some(Blob::Bytes(b)) if b == [1, 2]
        ));
        assert!(decode_param(Encoding::Json, b"[[1,300]]", BlobKind::Bytes).is_none());
        assert!(decode_param(Encoding::Wave, b"\"hi\"", BlobKind::Text).is_none());
        assert_eq!(
            encode_result(Encoding::Msgpack, Some(Blob::Bytes(vec![9]))).expect("bin"),
            [0xc4, 1, 9]
        );
        assert_eq!(
            encode_result(Encoding::Msgpack, Some(Blob::Text("hi".into()))).expect("str"),
            b"\xa2hi"
        );
        let long = encode_result(Encoding::Msgpack, Some(Blob::Bytes(vec![0; 300]))).expect("bin");
        assert_eq!(&long[..3], [0xc5, 1, 44]);
        assert_eq!(
            encode_result(Encoding::Json, Some(Blob::Text("a".into()))).expect("json"),
            b"\"a\""
        );
    }
}
