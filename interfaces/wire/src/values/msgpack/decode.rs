//! Decoding: reads the mapping's msgpack along a type of any [`Schema`] and
//! makes the value from its parts. Integers are range-checked, never
//! wrapped; every mismatch names its place. Recursion follows the type, so
//! its depth is the type's, whatever the payload claims.

use super::super::ValueError;
use super::super::error::{
    case_index, check_len, mismatch, nested_option_mismatch, out_of_range, payload_error,
    unsupported,
};
use super::super::path::{At, Seg};
use super::super::schema::{Made, Scalar, Schema, Shape};
use super::read::{Head, Reader};

/// Reads one value of type `ty`: scalars, strings and lists here, the rest
/// in [`composite`].
pub(super) fn value<S: Schema>(
    rd: &mut Reader<'_>,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<S::Value, ValueError> {
    let shape = S::shape(ty);
    if let Shape::Unsupported = shape {
        return Err(unsupported(at, S::type_name(ty)));
    }
    if let Shape::Option(inner) = &shape {
        return option::<S>(rd, ty, inner, false, at).map(|v| S::make(Made::Option(v)));
    }
    let head = rd.head()?;
    let wrong = || mismatch(at, S::type_name(ty), head.describe());
    let made = match (shape, head) {
        (Shape::Bool, Head::Bool(b)) => Made::Scalar(Scalar::Bool(b)),
        (shape @ (Shape::F32 | Shape::F64), head) => {
            Made::Scalar(float::<S>(&shape, head, ty, at)?)
        }
        (shape, Head::Int(n)) if is_int(&shape) => Made::Scalar(int::<S>(&shape, n, ty, at)?),
        (Shape::Char, Head::Str(s)) => Made::Scalar(Scalar::Char(one_char(s, at)?)),
        (Shape::String, Head::Str(s)) => {
            Made::String(std::str::from_utf8(s).map_err(|_| wrong())?.to_owned())
        }
        (Shape::List(elem), head) => Made::List(list::<S>(rd, head, &elem, ty, at)?),
        (Shape::FixedList(elem, len), head) => {
            let items = list::<S>(rd, head, &elem, ty, at)?;
            check_len(at, || S::type_name(ty), "elements", len, items.len())?;
            Made::FixedList(items)
        }
        (shape, head) => return composite::<S>(rd, shape, head, ty, at).map(S::make),
    };
    Ok(S::make(made))
}

/// Records, tuples, variants, enums, results and flags; anything else is
/// a mismatch.
fn composite<'t, S: Schema>(
    rd: &mut Reader<'_>,
    shape: Shape<'t, S::Type>,
    head: Head<'_>,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<Made<'t, S::Value>, ValueError> {
    let type_name = || S::type_name(ty);
    Ok(match (shape, head) {
        (Shape::Record(fields), Head::Array(n)) => {
            check_len(at, type_name, "fields", fields.len(), n)?;
            let mut values = Vec::with_capacity(n);
            for (name, field_ty) in fields {
                let value = value::<S>(rd, &field_ty, &at.child(Seg::Field(name)))?;
                values.push((name, value));
            }
            Made::Record(values)
        }
        (Shape::Tuple(types), Head::Array(n)) => {
            check_len(at, type_name, "elements", types.len(), n)?;
            let mut items = Vec::with_capacity(n);
            for (i, t) in types.iter().enumerate() {
                items.push(value::<S>(rd, t, &at.child(Seg::Index(i)))?);
            }
            Made::Tuple(items)
        }
        (Shape::Variant(cases), head) => {
            let (index, with_payload) = case_head::<S>(rd, head, ty, at)?;
            let (name, case_ty) = usize::try_from(index)
                .ok()
                .and_then(|i| cases.get(i))
                .ok_or_else(|| case_index(at, type_name(), index, cases.len()))?;
            let payload = case_payload::<S>(rd, name, case_ty.as_deref(), with_payload, at)?;
            Made::Variant {
                index: index as u32,
                name,
                payload,
            }
        }
        (Shape::Enum(names), Head::Int(n)) => {
            let name = usize::try_from(n)
                .ok()
                .and_then(|i| names.get(i))
                .ok_or_else(|| case_index(at, type_name(), clamp(n), names.len()))?;
            Made::Enum {
                index: n as u32,
                name,
            }
        }
        (Shape::Enum(_), head) => {
            let expected = format!("{}: a case index", type_name());
            return Err(mismatch(at, expected, head.describe()));
        }
        (Shape::Result { ok, err }, head) => {
            let (index, with_payload) = case_head::<S>(rd, head, ty, at)?;
            let payload = |rd: &mut Reader<'_>, case, case_ty: Option<&S::Type>| {
                case_payload::<S>(rd, case, case_ty, with_payload, at)
            };
            match index {
                0 => Made::Result(Ok(payload(rd, "ok", ok.as_deref())?)),
                1 => Made::Result(Err(payload(rd, "err", err.as_deref())?)),
                _ => return Err(case_index(at, type_name(), index, 2)),
            }
        }
        (Shape::Flags(names), Head::Array(n)) => {
            check_len(at, type_name, "flags", names.len(), n)?;
            let mut bits = Vec::with_capacity(n);
            for name in names {
                match rd.head()? {
                    Head::Bool(b) => bits.push((name, b)),
                    other => {
                        let at = at.child(Seg::Flag(name));
                        return Err(mismatch(&at, "bool", other.describe()));
                    }
                }
            }
            Made::Flags(bits)
        }
        (_, head) => return Err(mismatch(at, type_name(), head.describe())),
    })
}

fn is_int<T: Clone>(shape: &Shape<'_, T>) -> bool {
    matches!(
        shape,
        Shape::S8
            | Shape::U8
            | Shape::S16
            | Shape::U16
            | Shape::S32
            | Shape::U32
            | Shape::S64
            | Shape::U64
    )
}

fn clamp(n: i128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// An integer of an integer type, refusing values out of its range.
fn int<S: Schema>(
    shape: &Shape<'_, S::Type>,
    n: i128,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<Scalar, ValueError> {
    let scalar = match shape {
        Shape::S8 => i8::try_from(n).ok().map(Scalar::S8),
        Shape::U8 => u8::try_from(n).ok().map(Scalar::U8),
        Shape::S16 => i16::try_from(n).ok().map(Scalar::S16),
        Shape::U16 => u16::try_from(n).ok().map(Scalar::U16),
        Shape::S32 => i32::try_from(n).ok().map(Scalar::S32),
        Shape::U32 => u32::try_from(n).ok().map(Scalar::U32),
        Shape::S64 => i64::try_from(n).ok().map(Scalar::S64),
        _ => u64::try_from(n).ok().map(Scalar::U64),
    };
    scalar.ok_or_else(|| out_of_range(at, S::type_name(ty), n))
}

/// Floats accept either width, or an integer: writers in other languages
/// may not choose the width WIT declares. A finite value beyond f32's
/// range is refused, not turned into infinity.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn float<S: Schema>(
    shape: &Shape<'_, S::Type>,
    head: Head<'_>,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<Scalar, ValueError> {
    let x = match head {
        Head::F32(x) if matches!(shape, Shape::F32) => return Ok(Scalar::F32(x)),
        Head::F32(x) => f64::from(x),
        Head::F64(x) => x,
        Head::Int(n) => n as f64,
        other => return Err(mismatch(at, S::type_name(ty), other.describe())),
    };
    match shape {
        Shape::F32 if x.is_finite() && (x as f32).is_infinite() => {
            Err(out_of_range(at, S::type_name(ty), x))
        }
        Shape::F32 => Ok(Scalar::F32(x as f32)),
        _ => Ok(Scalar::F64(x)),
    }
}

fn one_char(s: &[u8], at: &At<'_>) -> Result<char, ValueError> {
    let text = std::str::from_utf8(s)
        .map_err(|_| mismatch(at, "char", "a string that is not valid UTF-8"))?;
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(mismatch(
            at,
            "char (a string of exactly one character)",
            format!("a string of {} characters", text.chars().count()),
        )),
    }
}

/// `list<u8>` is bin, or an array of integers; other lists are arrays.
fn list<S: Schema>(
    rd: &mut Reader<'_>,
    head: Head<'_>,
    elem: &S::Type,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<Vec<S::Value>, ValueError> {
    match head {
        Head::Bin(bytes) if matches!(S::shape(elem), Shape::U8) => Ok(bytes
            .iter()
            .map(|b| S::make(Made::Scalar(Scalar::U8(*b))))
            .collect()),
        Head::Array(n) => {
            let mut items = Vec::with_capacity(n.min(rd.remaining()));
            for i in 0..n {
                items.push(value::<S>(rd, elem, &at.child(Seg::Index(i)))?);
            }
            Ok(items)
        }
        other => Err(mismatch(at, S::type_name(ty), other.describe())),
    }
}

/// A case on the wire: a bare index, or a one-entry map `{index: payload}`
/// (whose payload is read next).
fn case_head<S: Schema>(
    rd: &mut Reader<'_>,
    head: Head<'_>,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<(u64, bool), ValueError> {
    let found = match head {
        Head::Int(n) => u64::try_from(n).ok().map(|n| (n, false)),
        Head::Map(1) => match rd.head()? {
            Head::Int(n) => u64::try_from(n).ok().map(|n| (n, true)),
            _ => None,
        },
        _ => None,
    };
    found.ok_or_else(|| {
        mismatch(
            at,
            format!(
                "{}: a case index, or a one-entry map {{index: payload}}",
                S::type_name(ty)
            ),
            head.describe(),
        )
    })
}

/// A case's payload, present exactly when the case declares one; a
/// payload-less case written `{index: nil}` is accepted too.
fn case_payload<S: Schema>(
    rd: &mut Reader<'_>,
    name: &str,
    case_ty: Option<&S::Type>,
    with_payload: bool,
    at: &At<'_>,
) -> Result<Option<S::Value>, ValueError> {
    match (case_ty, with_payload) {
        (None, false) => Ok(None),
        (None, true) if rd.take_nil() => Ok(None),
        (Some(t), true) => value::<S>(rd, t, &at.child(Seg::Case(name))).map(Some),
        (Some(t), false) => Err(payload_error(
            at,
            name,
            format!("needs a payload of type {}", S::type_name(t)),
        )),
        (None, true) => Err(payload_error(at, name, "takes no payload".to_owned())),
    }
}

/// An option is nil or the value; `nested` (directly inside an option), an
/// array of zero or one element.
fn option<S: Schema>(
    rd: &mut Reader<'_>,
    ty: &S::Type,
    inner: &S::Type,
    nested: bool,
    at: &At<'_>,
) -> Result<Option<S::Value>, ValueError> {
    if nested {
        match rd.head()? {
            Head::Array(0) => return Ok(None),
            Head::Array(1) => {}
            other => {
                return Err(nested_option_mismatch(
                    at,
                    &S::type_name(ty),
                    other.describe(),
                ));
            }
        }
    } else if rd.take_nil() {
        return Ok(None);
    }
    let some = at.child(Seg::OptionSome);
    let value = match S::shape(inner) {
        Shape::Option(innermost) => S::make(Made::Option(option::<S>(
            rd, inner, &innermost, true, &some,
        )?)),
        _ => value::<S>(rd, inner, &some)?,
    };
    Ok(Some(value))
}
