//! The msgpack mapping of WIT values (docs/wire-values.md), written once:
//! [`encode`] and [`decode`] walk a value of any [`Schema`] along its type,
//! and the call forms ([`encode_params`], [`decode_params`],
//! [`decode_nothing`]) frame a function's parameters and results.
//!
//! - `write`: the encoder, straight into one buffer.
//! - `read`: the reader of item heads, straight from the bytes.
//! - `decode`: the decoder, driven by the type.

mod decode;
mod read;
mod write;

use super::ValueError;
use super::error::mismatch;
use super::path::{At, Seg};
use super::schema::Schema;
use read::{Head, Reader};
use write::Out;

/// Encodes `value`, of type `ty`; `at` names its place in messages.
pub fn encode<S: Schema>(
    value: &S::Value,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<Vec<u8>, ValueError> {
    let mut out = Out::new();
    write::value::<S>(&mut out, value, ty, at)?;
    Ok(out.into_bytes())
}

/// Decodes one value of type `ty`; trailing bytes are an error.
pub fn decode<S: Schema>(bytes: &[u8], ty: &S::Type, at: &At<'_>) -> Result<S::Value, ValueError> {
    let mut rd = Reader::new(bytes);
    let value = decode::value::<S>(&mut rd, ty, at)?;
    rd.finish()?;
    Ok(value)
}

/// Encodes a call's parameters: an array with one element per parameter.
pub fn encode_params<S: Schema>(
    values: &[S::Value],
    params: &[(String, S::Type)],
) -> Result<Vec<u8>, ValueError> {
    check_param_count(params.len(), values.len())?;
    let mut out = Out::new();
    out.array(values.len())?;
    for (i, (value, (name, ty))) in values.iter().zip(params).enumerate() {
        write::value::<S>(&mut out, value, ty, &At::param(i, name))?;
    }
    Ok(out.into_bytes())
}

/// Decodes a call's parameters: an array with one element per parameter
/// (for a function without parameters, an empty payload or nil also do).
pub fn decode_params<S: Schema>(
    bytes: &[u8],
    params: &[(String, S::Type)],
) -> Result<Vec<S::Value>, ValueError> {
    if params.is_empty() && bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut rd = Reader::new(bytes);
    let values = match rd.head()? {
        Head::Array(n) => {
            check_param_count(params.len(), n)?;
            let mut values = Vec::with_capacity(n);
            for (i, (name, ty)) in params.iter().enumerate() {
                values.push(decode::value::<S>(&mut rd, ty, &At::param(i, name))?);
            }
            values
        }
        Head::Nil if params.is_empty() => Vec::new(),
        other => {
            return Err(mismatch(
                &At::root(Seg::Payload),
                format!("an array of {} parameter(s)", params.len()),
                other.describe(),
            ));
        }
    };
    rd.finish()?;
    Ok(values)
}

/// Checks the reply of a function without a result: empty, or nil.
pub fn decode_nothing(bytes: &[u8], at: &At<'_>) -> Result<(), ValueError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut rd = Reader::new(bytes);
    match rd.head()? {
        Head::Nil => rd.finish(),
        other => Err(mismatch(
            at,
            "no value (the function has no result)",
            other.describe(),
        )),
    }
}

/// The reply of a function without a result.
pub const NOTHING: &[u8] = &[0xc0];

fn check_param_count(expected: usize, got: usize) -> Result<(), ValueError> {
    if expected == got {
        Ok(())
    } else {
        Err(ValueError::ParamCount { expected, got })
    }
}
