//! What the msgpack and JSON mappings share: integers checked against their
//! type's range, floats, chars, case payloads present exactly when the case
//! declares one, record fields and tuple elements in declaration order, and
//! flags in declaration order (WAVE uses that last one too).

use wasmtime::component::types as wt;
use wasmtime::component::{Type, Val};

use super::error::{
    At, CodecError, Seg, check_len, mismatch, out_of_range, payload_error, unknown,
};
use super::types::type_name;

/// A `result` value as `Val` holds it.
pub(super) type ResultVal = Result<Option<Box<Val>>, Option<Box<Val>>>;

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// An integer of an integer type, refusing values out of its range.
pub(super) fn int_to_val(n: i128, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let val = match ty {
        Type::S8 => i8::try_from(n).ok().map(Val::S8),
        Type::U8 => u8::try_from(n).ok().map(Val::U8),
        Type::S16 => i16::try_from(n).ok().map(Val::S16),
        Type::U16 => u16::try_from(n).ok().map(Val::U16),
        Type::S32 => i32::try_from(n).ok().map(Val::S32),
        Type::U32 => u32::try_from(n).ok().map(Val::U32),
        Type::S64 => i64::try_from(n).ok().map(Val::S64),
        Type::U64 => u64::try_from(n).ok().map(Val::U64),
        _ => return Err(mismatch(at, ty, format!("integer {n}"))),
    };
    val.ok_or_else(|| out_of_range(at, ty, n.to_string()))
}

/// A float of a float type; a finite value beyond f32's range is refused.
pub(super) fn float_to_val(x: f64, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    match ty {
        Type::Float64 => Ok(Val::Float64(x)),
        Type::Float32 if x.is_finite() && (x as f32).is_infinite() => {
            Err(out_of_range(at, ty, x.to_string()))
        }
        Type::Float32 => Ok(Val::Float32(x as f32)),
        _ => Err(mismatch(at, ty, format!("number {x}"))),
    }
}

pub(super) fn one_char(s: &str, at: &At<'_>) -> Result<Val, CodecError> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(Val::Char(c)),
        _ => Err(CodecError::Mismatch {
            at: at.render(),
            expected: "char (a string of exactly one character)".to_owned(),
            got: format!("a string of {} characters", s.chars().count()),
        }),
    }
}

/// Maps a case payload, present exactly when the case declares one.
pub(super) fn map_payload<P, T>(
    case: &str,
    ty: Option<&Type>,
    payload: Option<P>,
    at: &At<'_>,
    map: impl FnOnce(P, &Type, &At<'_>) -> Result<T, CodecError>,
) -> Result<Option<T>, CodecError> {
    match (ty, payload) {
        (None, None) => Ok(None),
        (Some(ty), Some(p)) => map(p, ty, &at.child(Seg::Case(case))).map(Some),
        (Some(ty), None) => Err(payload_error(
            at,
            case,
            format!("needs a payload of type {}", type_name(ty)),
        )),
        (None, Some(_)) => Err(payload_error(at, case, "takes no payload".to_owned())),
    }
}

/// [`map_payload`] for decoding, boxed as `Val` holds payloads.
pub(super) fn decode_payload<P>(
    case: &str,
    ty: Option<&Type>,
    payload: Option<P>,
    at: &At<'_>,
    decode: impl FnOnce(P, &Type, &At<'_>) -> Result<Val, CodecError>,
) -> Result<Option<Box<Val>>, CodecError> {
    Ok(map_payload(case, ty, payload, at, decode)?.map(Box::new))
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// A record's field values in declaration order, looked up by name.
pub(super) fn encode_record<T>(
    fields: &[(String, Val)],
    r: &wt::Record,
    ty: &Type,
    at: &At<'_>,
    encode: impl Fn(&Val, &Type, &At<'_>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    check_len(at, ty, "fields", r.fields().len(), fields.len())?;
    r.fields()
        .map(|f| {
            let (_, val) = fields
                .iter()
                .find(|(name, _)| name == f.name)
                .ok_or_else(|| CodecError::MissingField {
                    at: at.render(),
                    field: f.name.to_owned(),
                })?;
            encode(val, &f.ty, &at.child(Seg::Field(f.name)))
        })
        .collect()
}

pub(super) fn encode_tuple<T>(
    items: &[Val],
    t: &wt::Tuple,
    ty: &Type,
    at: &At<'_>,
    encode: impl Fn(&Val, &Type, &At<'_>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    check_len(at, ty, "elements", t.types().len(), items.len())?;
    t.types()
        .zip(items)
        .enumerate()
        .map(|(i, (elem, item))| encode(item, &elem, &at.child(Seg::Index(i))))
        .collect()
}

pub(super) fn enum_index(e: &wt::Enum, name: &str, at: &At<'_>) -> Result<usize, CodecError> {
    e.names()
        .position(|n| n == name)
        .ok_or_else(|| unknown(at, "case", name, e.names()))
}

/// One boolean per declared flag, refusing names the type does not declare.
pub(super) fn flag_bits(
    f: &wt::Flags,
    set: &[String],
    at: &At<'_>,
) -> Result<Vec<bool>, CodecError> {
    if let Some(bad) = set.iter().find(|s| !f.names().any(|n| n == s.as_str())) {
        return Err(unknown(at, "flag", bad, f.names()));
    }
    Ok(f.names().map(|n| set.iter().any(|s| s == n)).collect())
}

/// The set flags in the type's declaration order, whatever order a payload
/// listed them in: wasmtime lifts flags in that order, and `Val`s compare
/// by order. Names the type does not declare are left out.
pub(super) fn declaration_order<S: AsRef<str>>(f: &wt::Flags, set: &[S]) -> Vec<String> {
    f.names()
        .filter(|n| set.iter().any(|s| s.as_ref() == *n))
        .map(str::to_owned)
        .collect()
}
