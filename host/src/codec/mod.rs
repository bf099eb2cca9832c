//! Payload codec: the one place the host turns a call's wire payload into
//! wasmtime component values and a function's results back into a payload,
//! driven by the function's own types (`Type`), with no generated code.
//!
//! It owns the value mapping of DESIGN.md "Values across the wire" for the
//! three payload encodings of [`Encoding`]:
//! - **msgpack**, floe-wire's mapping (`floe_wire::values::msgpack`, the
//!   one every Floe process speaks), walked through `msgpack::Wasm`, the
//!   schema of wasmtime's `Type` and `Val` — compact and positional:
//!   records and tuples are arrays in declaration order; variants, enums and results carry the case index —
//!   bare without a payload, a one-entry map `{index: payload}` with one
//!   (ok = 0, err = 1); options are nil or the value, except that an option
//!   directly inside an option is an array of zero or one element; flags are
//!   an array of booleans in declaration order; `list<u8>` is bin (an array
//!   of integers is accepted too). Integers are range-checked, never wrapped.
//! - **JSON**, for people: records are objects keyed by field name, variants
//!   `{"case": payload}` or `"case"`, enums `"case"`, results `{"ok": v}` /
//!   `{"err": e}` (or `"ok"` / `"err"`), flags an array of the set names,
//!   options null or the value (an option inside an option: an array of zero
//!   or one element), chars one-character strings, numbers JSON numbers.
//! - **WAVE** text, as `wasmtime run --invoke` writes values.
//!
//! Resources, futures, streams and error-contexts cannot cross the wire; nor
//! can maps, which the mapping does not define yet. They are refused with
//! [`CodecError::Unsupported`], naming the type.
//!
//! Shapes of the API: a function's parameters are `&[(String, Type)]` — what
//! `ComponentFunc::params()` yields, with owned names ([`func_params`]) — and
//! its result types `&[Type]` ([`func_results`]). Encoding takes the types as
//! well as the values: a `Val` names variant cases and set flags but not
//! their positions, which the compact form writes.
//!
//! Payloads are untrusted: nothing here panics on input, and every error is
//! a [`CodecError`] whose message names the parameter, field, element or case
//! at fault and what was expected, e.g.
//! `` parameter 2 (`b`): expected list<u8>, got string ``.
//!
//! Decoded flags name the set flags in the type's declaration order, as
//! wasmtime lifts them, whatever order the payload listed them in.
//!
//! # Layout
//! - `error`: [`CodecError`], and `At`, the place in a payload an error names.
//! - `types`: type and value names for messages; which types cannot cross
//!   the wire.
//! - `shared`: what JSON and WAVE share with the mapping's rules: integer ranges, floats, chars,
//!   case payloads, record fields and flags in declaration order.
//! - `msgpack`: wasmtime's types and values as floe-wire's mapping sees them.
//! - `json`, `wave`: each of those encodings, both directions.
//! - `tests`: round trips and error messages, per encoding.

mod error;
mod json;
mod msgpack;
mod shared;
#[cfg(test)]
mod tests;
mod types;
mod wave;

use floe_wire::values::msgpack as wire_msgpack;
use serde_json::Value as Json;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val};

use error::{At, Seg};
use json::{json_desc, json_to_val, read_json, val_to_json, write_json};
use msgpack::Wasm;
use wave::{decode_params_wave, decode_value_wave, wave_text};

pub use error::CodecError;

/// Floe's payload encodings (`Msgpack`, `Json`, `Wave`): floe-wire's, which
/// the envelope carries, re-exported so callers need one name.
pub use floe_wire::Encoding;

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// A function's parameters as [`decode_params`] and [`encode_params`] take them.
pub fn func_params(func: &ComponentFunc) -> Vec<(String, Type)> {
    func.params()
        .map(|(name, ty)| (name.to_owned(), ty))
        .collect()
}

/// A function's result types (zero or one) as [`encode_results`] takes them.
pub fn func_results(func: &ComponentFunc) -> Vec<Type> {
    func.results().collect()
}

/// Decodes the call's parameters. Msgpack/JSON payload: an array with one
/// element per parameter, in order (for a function without parameters an
/// empty payload, nil or null also do). Wave payload: the parameters as WAVE
/// text separated by commas, as inside `f(a, b)` (e.g. `"hello", [1, 2]`);
/// trailing option parameters may be left out, as WAVE allows; an empty
/// payload means no parameters.
pub fn decode_params(
    encoding: Encoding,
    payload: &[u8],
    params: &[(String, Type)],
) -> Result<Vec<Val>, CodecError> {
    match encoding {
        Encoding::Msgpack => wire_msgpack::decode_params::<Wasm>(payload, params),
        Encoding::Json => {
            if params.is_empty() && is_blank(payload) {
                return Ok(Vec::new());
            }
            match read_json(payload)? {
                Json::Array(items) => zip_params(params, &items, json_to_val),
                Json::Null if params.is_empty() => Ok(Vec::new()),
                other => Err(params_shape(params.len(), json_desc(&other))),
            }
        }
        Encoding::Wave => decode_params_wave(payload, params),
    }
}

/// Encodes the function's results (0 or 1 values in the component model)
/// of the given result types: msgpack nil / JSON null / empty WAVE for
/// none, else the single value itself (not wrapped in an array).
pub fn encode_results(
    encoding: Encoding,
    results: &[Val],
    types: &[Type],
) -> Result<Vec<u8>, CodecError> {
    match (results, types) {
        ([], []) => Ok(match encoding {
            Encoding::Msgpack => wire_msgpack::NOTHING.to_vec(),
            Encoding::Json => b"null".to_vec(),
            Encoding::Wave => Vec::new(),
        }),
        ([val], [ty]) => encode_value(encoding, val, ty, &At::root(Seg::Result)),
        _ => Err(CodecError::ResultCount {
            expected: types.len(),
            got: results.len(),
        }),
    }
}

/// Encodes call parameters as [`decode_params`] reads them (for clients and
/// tests): an array for msgpack and JSON, comma-separated text for WAVE.
pub fn encode_params(
    encoding: Encoding,
    values: &[Val],
    params: &[(String, Type)],
) -> Result<Vec<u8>, CodecError> {
    match encoding {
        Encoding::Msgpack => wire_msgpack::encode_params::<Wasm>(values, params),
        Encoding::Json => write_json(&Json::Array(map_params(values, params, val_to_json)?)),
        Encoding::Wave => Ok(map_params(values, params, wave_text)?
            .join(", ")
            .into_bytes()),
    }
}

/// Each parameter's value, encoded as `encode` does.
fn map_params<T>(
    values: &[Val],
    params: &[(String, Type)],
    encode: impl Fn(&Val, &Type, &At<'_>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    check_param_count(params.len(), values.len())?;
    values
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (val, (name, ty)))| encode(val, ty, &At::param(i, name)))
        .collect()
}

/// Encodes call parameters as a msgpack array (see [`encode_params`]).
pub fn encode_values_msgpack(
    values: &[Val],
    params: &[(String, Type)],
) -> Result<Vec<u8>, CodecError> {
    encode_params(Encoding::Msgpack, values, params)
}

/// Decodes a reply written by [`encode_results`]: `ty` is the function's
/// result type, `None` when it has none (then the payload must say so).
pub fn decode_result(
    encoding: Encoding,
    payload: &[u8],
    ty: Option<&Type>,
) -> Result<Option<Val>, CodecError> {
    let at = At::root(Seg::Result);
    let Some(ty) = ty else {
        return expect_no_result(encoding, payload, &at).map(|()| None);
    };
    let val = match encoding {
        Encoding::Msgpack => wire_msgpack::decode::<Wasm>(payload, ty, &at)?,
        Encoding::Json => json_to_val(&read_json(payload)?, ty, &at)?,
        Encoding::Wave => decode_value_wave(payload, ty, &at)?,
    };
    Ok(Some(val))
}

// ---------------------------------------------------------------------------
// Plumbing of the API
// ---------------------------------------------------------------------------

fn encode_value(
    encoding: Encoding,
    val: &Val,
    ty: &Type,
    at: &At<'_>,
) -> Result<Vec<u8>, CodecError> {
    match encoding {
        Encoding::Msgpack => wire_msgpack::encode::<Wasm>(val, ty, at),
        Encoding::Json => write_json(&val_to_json(val, ty, at)?),
        Encoding::Wave => wave_text(val, ty, at).map(String::into_bytes),
    }
}

fn expect_no_result(encoding: Encoding, payload: &[u8], at: &At<'_>) -> Result<(), CodecError> {
    let got = match encoding {
        Encoding::Msgpack => return wire_msgpack::decode_nothing(payload, at),
        Encoding::Json if is_blank(payload) => return Ok(()),
        Encoding::Json => match read_json(payload)? {
            Json::Null => return Ok(()),
            other => json_desc(&other),
        },
        Encoding::Wave if is_blank(payload) => return Ok(()),
        Encoding::Wave => format!("{} bytes of WAVE text", payload.len()),
    };
    Err(floe_wire::values::error::mismatch(
        at,
        "no value (the function has no result)",
        got,
    ))
}

fn zip_params<T>(
    params: &[(String, Type)],
    items: &[T],
    decode: impl Fn(&T, &Type, &At<'_>) -> Result<Val, CodecError>,
) -> Result<Vec<Val>, CodecError> {
    check_param_count(params.len(), items.len())?;
    params
        .iter()
        .zip(items)
        .enumerate()
        .map(|(i, ((name, ty), item))| decode(item, ty, &At::param(i, name)))
        .collect()
}

fn check_param_count(expected: usize, got: usize) -> Result<(), CodecError> {
    if expected == got {
        Ok(())
    } else {
        Err(CodecError::ParamCount { expected, got })
    }
}

fn params_shape(count: usize, got: String) -> CodecError {
    CodecError::Mismatch {
        at: At::root(Seg::Payload).render(),
        expected: format!("an array of {count} parameter(s)"),
        got,
    }
}

fn is_blank(payload: &[u8]) -> bool {
    payload.iter().all(u8::is_ascii_whitespace)
}
