//! The mapping itself: a [`WitValue`] of a [`WitType`] to msgpack bytes and
//! back. Payloads are untrusted: decoding never panics, bounds its nesting,
//! range-checks integers, and names the place of any mismatch.

use std::fmt;

use rmpv::Value as Mp;

use super::ValueError;
use super::types::{WitType, WitValue};

/// Nesting limit of the reader (an array costs it two levels).
const MAX_DEPTH: usize = 512;

/// Encodes `value`, which must be of type `ty`.
pub fn encode(value: &WitValue, ty: &WitType) -> Result<Vec<u8>, ValueError> {
    let mp = to_mp(value, ty, Loc::Root)?;
    write(&mp)
}

/// Decodes one value of type `ty`; trailing bytes are an error.
pub fn decode(bytes: &[u8], ty: &WitType) -> Result<WitValue, ValueError> {
    from_mp(&read(bytes)?, ty, Loc::Root)
}

pub(super) fn write(mp: &Mp) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, mp).map_err(|e| ValueError::Malformed(e.to_string()))?;
    Ok(out)
}

pub(super) fn read(bytes: &[u8]) -> Result<Mp, ValueError> {
    let mut rest = bytes;
    let mp = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH)
        .map_err(|e| ValueError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ValueError::Malformed(format!(
            "{} trailing byte(s) after the value",
            rest.len()
        )));
    }
    Ok(mp)
}

/// Where in a value a mismatch is, for messages.
#[derive(Clone, Copy)]
enum Loc<'a> {
    Root,
    Field(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, usize),
    Case(&'a Loc<'a>, &'a str),
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Root => f.write_str("value"),
            Loc::Field(parent, name) => write!(f, "{parent}.{name}"),
            Loc::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Loc::Case(parent, name) => write!(f, "{parent}({name})"),
        }
    }
}

fn mismatch(at: Loc<'_>, ty: &WitType, got: impl Into<String>) -> ValueError {
    ValueError::Mismatch {
        at: at.to_string(),
        expected: ty.describe(),
        got: got.into(),
    }
}

fn describe_mp(mp: &Mp) -> String {
    match mp {
        Mp::Nil => "nil".into(),
        Mp::Boolean(b) => format!("bool {b}"),
        Mp::Integer(i) => format!("integer {i}"),
        Mp::F32(x) => format!("float32 {x}"),
        Mp::F64(x) => format!("float64 {x}"),
        Mp::String(_) => "string".into(),
        Mp::Binary(b) => format!("bin of {} bytes", b.len()),
        Mp::Array(a) => format!("array of {}", a.len()),
        Mp::Map(m) => format!("map of {} entries", m.len()),
        Mp::Ext(tag, _) => format!("ext of type {tag}"),
    }
}

fn describe_value(v: &WitValue) -> String {
    let text = format!("{v:?}");
    match text.split_once('(') {
        Some((kind, _)) => kind.to_lowercase(),
        None => text.to_lowercase(),
    }
}

// ---------------------------------------------------------------------------
// WitValue → msgpack
// ---------------------------------------------------------------------------

fn to_mp(value: &WitValue, ty: &WitType, at: Loc<'_>) -> Result<Mp, ValueError> {
    let wrong = || mismatch(at, ty, describe_value(value));
    Ok(match (ty, value) {
        (WitType::Bool, WitValue::Bool(b)) => Mp::Boolean(*b),
        (WitType::S8, WitValue::S8(n)) => Mp::from(*n),
        (WitType::U8, WitValue::U8(n)) => Mp::from(*n),
        (WitType::S16, WitValue::S16(n)) => Mp::from(*n),
        (WitType::U16, WitValue::U16(n)) => Mp::from(*n),
        (WitType::S32, WitValue::S32(n)) => Mp::from(*n),
        (WitType::U32, WitValue::U32(n)) => Mp::from(*n),
        (WitType::S64, WitValue::S64(n)) => Mp::from(*n),
        (WitType::U64, WitValue::U64(n)) => Mp::from(*n),
        (WitType::F32, WitValue::F32(x)) => Mp::F32(*x),
        (WitType::F64, WitValue::F64(x)) => Mp::F64(*x),
        (WitType::Char, WitValue::Char(c)) => Mp::from(c.to_string()),
        (WitType::String, WitValue::String(s)) => Mp::from(s.as_str()),
        (WitType::List(elem), WitValue::List(items)) if **elem == WitType::U8 => {
            let bytes = items
                .iter()
                .map(|v| match v {
                    WitValue::U8(b) => Ok(*b),
                    _ => Err(wrong()),
                })
                .collect::<Result<Vec<u8>, _>>()?;
            Mp::Binary(bytes)
        }
        (WitType::List(elem), WitValue::List(items)) => Mp::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| to_mp(v, elem, Loc::Index(&at, i)))
                .collect::<Result<_, _>>()?,
        ),
        (WitType::Record(fields), WitValue::Record(values)) if fields.len() == values.len() => {
            Mp::Array(
                fields
                    .iter()
                    .zip(values)
                    .map(|((name, t), v)| to_mp(v, t, Loc::Field(&at, name)))
                    .collect::<Result<_, _>>()?,
            )
        }
        (WitType::Tuple(types), WitValue::Tuple(values)) if types.len() == values.len() => {
            Mp::Array(
                types
                    .iter()
                    .zip(values)
                    .enumerate()
                    .map(|(i, (t, v))| to_mp(v, t, Loc::Index(&at, i)))
                    .collect::<Result<_, _>>()?,
            )
        }
        (WitType::Variant(cases), WitValue::Variant(index, payload)) => {
            let (name, case_ty) = cases.get(*index as usize).ok_or_else(wrong)?;
            case_to_mp(
                *index,
                case_ty.as_ref(),
                payload.as_deref(),
                Loc::Case(&at, name),
            )?
        }
        (WitType::Enum(cases), WitValue::Enum(index)) if (*index as usize) < cases.len() => {
            Mp::from(*index)
        }
        (WitType::Option(inner), WitValue::Option(opt)) => {
            option_to_mp(inner, opt.as_deref(), false, at)?
        }
        (WitType::Result { ok, err }, WitValue::Result(result)) => match result {
            Ok(payload) => case_to_mp(0, ok.as_deref(), payload.as_deref(), Loc::Case(&at, "ok"))?,
            Err(payload) => {
                case_to_mp(1, err.as_deref(), payload.as_deref(), Loc::Case(&at, "err"))?
            }
        },
        (WitType::Flags(names), WitValue::Flags(bits)) if names.len() == bits.len() => {
            Mp::Array(bits.iter().map(|b| Mp::Boolean(*b)).collect())
        }
        _ => return Err(wrong()),
    })
}

/// An option: nil or the value; `nested` (directly inside an option), an
/// array of zero or one element.
fn option_to_mp(
    inner: &WitType,
    value: Option<&WitValue>,
    nested: bool,
    at: Loc<'_>,
) -> Result<Mp, ValueError> {
    let Some(value) = value else {
        return Ok(if nested { Mp::Array(vec![]) } else { Mp::Nil });
    };
    let mp = match (inner, value) {
        (WitType::Option(innermost), WitValue::Option(opt)) => {
            option_to_mp(innermost, opt.as_deref(), true, at)?
        }
        _ => to_mp(value, inner, at)?,
    };
    Ok(if nested { Mp::Array(vec![mp]) } else { mp })
}

fn case_to_mp(
    index: u32,
    case_ty: Option<&WitType>,
    payload: Option<&WitValue>,
    at: Loc<'_>,
) -> Result<Mp, ValueError> {
    match (case_ty, payload) {
        (None, None) => Ok(Mp::from(index)),
        (Some(t), Some(v)) => Ok(Mp::Map(vec![(Mp::from(index), to_mp(v, t, at)?)])),
        (Some(t), None) => Err(mismatch(at, t, "no payload")),
        (None, Some(v)) => Err(ValueError::Mismatch {
            at: at.to_string(),
            expected: "no payload".into(),
            got: describe_value(v),
        }),
    }
}

// ---------------------------------------------------------------------------
// msgpack → WitValue
// ---------------------------------------------------------------------------

fn from_mp(mp: &Mp, ty: &WitType, at: Loc<'_>) -> Result<WitValue, ValueError> {
    let wrong = || mismatch(at, ty, describe_mp(mp));
    let int = |mp: &Mp| match mp {
        Mp::Integer(i) => Ok(*i),
        _ => Err(wrong()),
    };
    let out_of_range = |i: rmpv::Integer| mismatch(at, ty, format!("integer {i} (out of range)"));
    Ok(match ty {
        WitType::Bool => match mp {
            Mp::Boolean(b) => WitValue::Bool(*b),
            _ => return Err(wrong()),
        },
        WitType::S8 | WitType::S16 | WitType::S32 | WitType::S64 => {
            let i = int(mp)?;
            let n = i.as_i64().ok_or_else(|| out_of_range(i))?;
            match ty {
                WitType::S8 => WitValue::S8(i8::try_from(n).map_err(|_| out_of_range(i))?),
                WitType::S16 => WitValue::S16(i16::try_from(n).map_err(|_| out_of_range(i))?),
                WitType::S32 => WitValue::S32(i32::try_from(n).map_err(|_| out_of_range(i))?),
                _ => WitValue::S64(n),
            }
        }
        WitType::U8 | WitType::U16 | WitType::U32 | WitType::U64 => {
            let i = int(mp)?;
            let n = i.as_u64().ok_or_else(|| out_of_range(i))?;
            match ty {
                WitType::U8 => WitValue::U8(u8::try_from(n).map_err(|_| out_of_range(i))?),
                WitType::U16 => WitValue::U16(u16::try_from(n).map_err(|_| out_of_range(i))?),
                WitType::U32 => WitValue::U32(u32::try_from(n).map_err(|_| out_of_range(i))?),
                _ => WitValue::U64(n),
            }
        }
        // Either float width, or an integer, is read: writers in other
        // languages may not choose the width WIT declares.
        WitType::F32 => match mp {
            Mp::F32(x) => WitValue::F32(*x),
            #[allow(clippy::cast_possible_truncation)]
            Mp::F64(x) => WitValue::F32(*x as f32),
            #[allow(clippy::cast_possible_truncation)]
            Mp::Integer(_) => WitValue::F32(integer_as_f64(mp).ok_or_else(wrong)? as f32),
            _ => return Err(wrong()),
        },
        WitType::F64 => match mp {
            Mp::F64(x) => WitValue::F64(*x),
            Mp::F32(x) => WitValue::F64(f64::from(*x)),
            Mp::Integer(_) => WitValue::F64(integer_as_f64(mp).ok_or_else(wrong)?),
            _ => return Err(wrong()),
        },
        WitType::Char => {
            let s = mp.as_str().ok_or_else(wrong)?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => WitValue::Char(c),
                _ => {
                    return Err(mismatch(
                        at,
                        ty,
                        format!("a string of {} chars", s.chars().count()),
                    ));
                }
            }
        }
        WitType::String => match mp {
            Mp::String(s) => WitValue::String(
                s.as_str()
                    .ok_or_else(|| mismatch(at, ty, "a string that is not UTF-8"))?
                    .to_owned(),
            ),
            _ => return Err(wrong()),
        },
        WitType::List(elem) => match mp {
            Mp::Binary(bytes) if **elem == WitType::U8 => {
                WitValue::List(bytes.iter().map(|b| WitValue::U8(*b)).collect())
            }
            Mp::Array(items) => WitValue::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| from_mp(v, elem, Loc::Index(&at, i)))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(wrong()),
        },
        WitType::Record(fields) => match mp {
            Mp::Array(items) if items.len() == fields.len() => WitValue::Record(
                fields
                    .iter()
                    .zip(items)
                    .map(|((name, t), v)| from_mp(v, t, Loc::Field(&at, name)))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(wrong()),
        },
        WitType::Tuple(types) => match mp {
            Mp::Array(items) if items.len() == types.len() => WitValue::Tuple(
                types
                    .iter()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (t, v))| from_mp(v, t, Loc::Index(&at, i)))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(wrong()),
        },
        WitType::Variant(cases) => {
            let (index, payload) = case_of(mp).ok_or_else(wrong)?;
            let (name, case_ty) = cases.get(index as usize).ok_or_else(|| {
                mismatch(at, ty, format!("case index {index} of {}", cases.len()))
            })?;
            WitValue::Variant(
                index,
                case_from_mp(case_ty.as_ref(), payload, Loc::Case(&at, name))?,
            )
        }
        WitType::Enum(cases) => match case_of(mp) {
            Some((index, None)) if (index as usize) < cases.len() => WitValue::Enum(index),
            _ => return Err(wrong()),
        },
        WitType::Option(inner) => WitValue::Option(option_from_mp(inner, mp, false, at)?),
        WitType::Result { ok, err } => match case_of(mp).ok_or_else(wrong)? {
            (0, payload) => WitValue::Result(Ok(case_from_mp(
                ok.as_deref(),
                payload,
                Loc::Case(&at, "ok"),
            )?)),
            (1, payload) => WitValue::Result(Err(case_from_mp(
                err.as_deref(),
                payload,
                Loc::Case(&at, "err"),
            )?)),
            (index, _) => return Err(mismatch(at, ty, format!("case index {index} of 2"))),
        },
        WitType::Flags(names) => match mp {
            Mp::Array(bits) if bits.len() == names.len() => WitValue::Flags(
                bits.iter()
                    .map(|b| b.as_bool().ok_or_else(wrong))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(wrong()),
        },
    })
}

#[allow(clippy::cast_precision_loss)]
fn integer_as_f64(mp: &Mp) -> Option<f64> {
    match mp {
        Mp::Integer(i) => i
            .as_i64()
            .map(|n| n as f64)
            .or_else(|| i.as_u64().map(|n| n as f64)),
        _ => None,
    }
}

fn option_from_mp(
    inner: &WitType,
    mp: &Mp,
    nested: bool,
    at: Loc<'_>,
) -> Result<Option<Box<WitValue>>, ValueError> {
    let element = match (nested, mp) {
        (false, Mp::Nil) => return Ok(None),
        (false, other) => other,
        (true, Mp::Array(items)) if items.is_empty() => return Ok(None),
        (true, Mp::Array(items)) if items.len() == 1 => &items[0],
        (true, other) => {
            return Err(ValueError::Mismatch {
                at: at.to_string(),
                expected: format!(
                    "an array of 0 or 1 element (an option inside an option), for {}",
                    inner.describe()
                ),
                got: describe_mp(other),
            });
        }
    };
    let value = match inner {
        WitType::Option(innermost) => {
            WitValue::Option(option_from_mp(innermost, element, true, at)?)
        }
        _ => from_mp(element, inner, at)?,
    };
    Ok(Some(Box::new(value)))
}

/// A case: a bare index, or a one-entry map `{index: payload}`.
fn case_of(mp: &Mp) -> Option<(u32, Option<&Mp>)> {
    match mp {
        Mp::Integer(i) => Some((u32::try_from(i.as_u64()?).ok()?, None)),
        Mp::Map(entries) if entries.len() == 1 => {
            let (k, v) = &entries[0];
            Some((u32::try_from(k.as_u64()?).ok()?, Some(v)))
        }
        _ => None,
    }
}

fn case_from_mp(
    case_ty: Option<&WitType>,
    payload: Option<&Mp>,
    at: Loc<'_>,
) -> Result<Option<Box<WitValue>>, ValueError> {
    match (case_ty, payload) {
        (None, None) => Ok(None),
        // A payload-less case written as `{index: nil}` is accepted too.
        (None, Some(Mp::Nil)) => Ok(None),
        (Some(t), Some(v)) => Ok(Some(Box::new(from_mp(v, t, at)?))),
        (Some(t), None) => Err(mismatch(at, t, "no payload")),
        (None, Some(v)) => Err(ValueError::Mismatch {
            at: at.to_string(),
            expected: "no payload".into(),
            got: describe_mp(v),
        }),
    }
}
