//! The msgpack mapping, compact and positional, both ways: records and
//! tuples are arrays, variants, enums and results carry the case index,
//! flags are an array of booleans, `list<u8>` is bin (see the `codec`
//! module's documentation for the whole mapping).

use rmpv::Value as Mp;
use wasmtime::component::types as wt;
use wasmtime::component::{Type, Val};

use super::error::{
    At, CodecError, Seg, case_index_error, check_len, encode_mismatch, malformed, mismatch,
    nested_option_mismatch, unknown, unsupported,
};
use super::shared::{
    ResultVal, decode_payload, encode_record, encode_tuple, enum_index, flag_bits, float_to_val,
    int_to_val, map_payload, one_char,
};
use super::types::type_name;

/// Nesting limit for the msgpack reader (an array costs it two levels).
const MSGPACK_MAX_DEPTH: usize = 512;

pub(super) fn read_msgpack(payload: &[u8]) -> Result<Mp, CodecError> {
    let mut rd = payload;
    let value = rmpv::decode::read_value_with_max_depth(&mut rd, MSGPACK_MAX_DEPTH)
        .map_err(|e| malformed("msgpack", e))?;
    if !rd.is_empty() {
        return Err(malformed(
            "msgpack",
            format!("{} trailing byte(s) after the value", rd.len()),
        ));
    }
    Ok(value)
}

pub(super) fn write_msgpack(value: &Mp) -> Result<Vec<u8>, CodecError> {
    let mut buf = Vec::new();
    rmpv::encode::write_value(&mut buf, value).map_err(|e| CodecError::Write {
        encoding: "msgpack",
        reason: e.to_string(),
    })?;
    Ok(buf)
}

// ---------------------------------------------------------------------------
// msgpack → Val
// ---------------------------------------------------------------------------

pub(super) fn mp_desc(v: &Mp) -> String {
    match v {
        Mp::Nil => "nil".to_owned(),
        Mp::Boolean(b) => format!("bool {b}"),
        Mp::Integer(i) => format!("integer {i}"),
        Mp::F32(x) => format!("float32 {x}"),
        Mp::F64(x) => format!("float64 {x}"),
        Mp::String(s) if s.is_str() => "string".to_owned(),
        Mp::String(_) => "a string that is not valid UTF-8".to_owned(),
        Mp::Binary(b) => format!("bin of {} bytes", b.len()),
        Mp::Array(a) => format!("array of {}", a.len()),
        Mp::Map(m) => format!("map of {} entries", m.len()),
        Mp::Ext(tag, _) => format!("ext of type {tag}"),
    }
}

pub(super) fn mp_to_val(v: &Mp, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let wrong = || mismatch(at, ty, mp_desc(v));
    match ty {
        Type::Bool => match v {
            Mp::Boolean(b) => Ok(Val::Bool(*b)),
            _ => Err(wrong()),
        },
        Type::S8
        | Type::U8
        | Type::S16
        | Type::U16
        | Type::S32
        | Type::U32
        | Type::S64
        | Type::U64 => int_to_val(mp_int(v).ok_or_else(wrong)?, ty, at),
        Type::Float32 | Type::Float64 => mp_float(v, ty, at),
        Type::Char => one_char(mp_str(v).ok_or_else(wrong)?, at),
        Type::String => Ok(Val::String(mp_str(v).ok_or_else(wrong)?.to_owned())),
        Type::List(l) => mp_list(v, &l.ty(), ty, at).map(Val::List),
        Type::FixedLengthList(l) => {
            let items = mp_list(v, &l.ty(), ty, at)?;
            check_len(at, ty, "elements", l.len() as usize, items.len())?;
            Ok(Val::FixedLengthList(items))
        }
        Type::Record(r) => mp_record(v, r, ty, at),
        Type::Tuple(t) => mp_tuple(v, t, ty, at),
        Type::Variant(var) => mp_variant(v, var, ty, at),
        Type::Enum(e) => mp_enum(v, e, ty, at),
        Type::Option(o) => mp_option(v, ty, &o.ty(), false, at),
        Type::Result(r) => mp_result(v, r, ty, at),
        Type::Flags(f) => mp_flags(v, f, ty, at),
        Type::Map(_)
        | Type::Own(_)
        | Type::Borrow(_)
        | Type::Future(_)
        | Type::Stream(_)
        | Type::ErrorContext => Err(unsupported(at, ty)),
    }
}

fn mp_int(v: &Mp) -> Option<i128> {
    match v {
        Mp::Integer(i) => i
            .as_i64()
            .map(i128::from)
            .or_else(|| i.as_u64().map(i128::from)),
        _ => None,
    }
}

fn mp_str(v: &Mp) -> Option<&str> {
    match v {
        Mp::String(s) => s.as_str(),
        _ => None,
    }
}

/// Floats accept float32, float64 or an integer.
fn mp_float(v: &Mp, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let x = match v {
        Mp::F32(x) if matches!(ty, Type::Float32) => return Ok(Val::Float32(*x)),
        Mp::F32(x) => f64::from(*x),
        Mp::F64(x) => *x,
        Mp::Integer(i) => i.as_f64().ok_or_else(|| mismatch(at, ty, mp_desc(v)))?,
        _ => return Err(mismatch(at, ty, mp_desc(v))),
    };
    float_to_val(x, ty, at)
}

fn mp_array<'v>(v: &'v Mp, ty: &Type, at: &At<'_>) -> Result<&'v [Mp], CodecError> {
    match v {
        Mp::Array(items) => Ok(items),
        _ => Err(mismatch(at, ty, mp_desc(v))),
    }
}

/// `list<u8>` is bin, or an array of integers; other lists are arrays.
fn mp_list(v: &Mp, elem: &Type, ty: &Type, at: &At<'_>) -> Result<Vec<Val>, CodecError> {
    match v {
        Mp::Binary(bytes) if matches!(elem, Type::U8) => {
            Ok(bytes.iter().map(|b| Val::U8(*b)).collect())
        }
        Mp::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| mp_to_val(item, elem, &at.child(Seg::Index(i))))
            .collect(),
        _ => Err(mismatch(at, ty, mp_desc(v))),
    }
}

fn mp_record(v: &Mp, r: &wt::Record, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let items = mp_array(v, ty, at)?;
    check_len(at, ty, "fields", r.fields().len(), items.len())?;
    r.fields()
        .zip(items)
        .map(|(f, item)| {
            let val = mp_to_val(item, &f.ty, &at.child(Seg::Field(f.name)))?;
            Ok((f.name.to_owned(), val))
        })
        .collect::<Result<Vec<_>, CodecError>>()
        .map(Val::Record)
}

fn mp_tuple(v: &Mp, t: &wt::Tuple, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let items = mp_array(v, ty, at)?;
    check_len(at, ty, "elements", t.types().len(), items.len())?;
    t.types()
        .zip(items)
        .enumerate()
        .map(|(i, (elem, item))| mp_to_val(item, &elem, &at.child(Seg::Index(i))))
        .collect::<Result<Vec<_>, CodecError>>()
        .map(Val::Tuple)
}

/// A case on the wire: a bare index, or a one-entry map `{index: payload}`.
fn mp_case<'v>(v: &'v Mp, ty: &Type, at: &At<'_>) -> Result<(u64, Option<&'v Mp>), CodecError> {
    let found = match v {
        Mp::Integer(i) => i.as_u64().map(|n| (n, None)),
        Mp::Map(entries) => match entries.as_slice() {
            [(Mp::Integer(i), payload)] => i.as_u64().map(|n| (n, Some(payload))),
            _ => None,
        },
        _ => None,
    };
    found.ok_or_else(|| CodecError::Mismatch {
        at: at.render(),
        expected: format!(
            "{}: a case index, or a one-entry map {{index: payload}}",
            type_name(ty)
        ),
        got: mp_desc(v),
    })
}

fn mp_variant(v: &Mp, var: &wt::Variant, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let (index, payload) = mp_case(v, ty, at)?;
    let case = usize::try_from(index)
        .ok()
        .and_then(|i| var.cases().nth(i))
        .ok_or_else(|| case_index_error(at, ty, index, var.cases().len()))?;
    let payload = decode_payload(case.name, case.ty.as_ref(), payload, at, mp_to_val)?;
    Ok(Val::Variant(case.name.to_owned(), payload))
}

fn mp_enum(v: &Mp, e: &wt::Enum, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let index = match v {
        Mp::Integer(i) => i.as_u64(),
        _ => None,
    }
    .ok_or_else(|| CodecError::Mismatch {
        at: at.render(),
        expected: format!("{}: a case index", type_name(ty)),
        got: mp_desc(v),
    })?;
    let name = usize::try_from(index)
        .ok()
        .and_then(|i| e.names().nth(i))
        .ok_or_else(|| case_index_error(at, ty, index, e.names().len()))?;
    Ok(Val::Enum(name.to_owned()))
}

fn mp_result(v: &Mp, r: &wt::ResultType, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    match mp_case(v, ty, at)? {
        (0, payload) => Ok(Val::Result(Ok(decode_payload(
            "ok",
            r.ok().as_ref(),
            payload,
            at,
            mp_to_val,
        )?))),
        (1, payload) => Ok(Val::Result(Err(decode_payload(
            "err",
            r.err().as_ref(),
            payload,
            at,
            mp_to_val,
        )?))),
        (index, _) => Err(case_index_error(at, ty, index, 2)),
    }
}

/// `nested`: this option sits directly inside an option, so it is an array
/// of zero or one element rather than nil or the value.
fn mp_option(
    v: &Mp,
    ty: &Type,
    inner: &Type,
    nested: bool,
    at: &At<'_>,
) -> Result<Val, CodecError> {
    let payload = match (nested, v) {
        (false, Mp::Nil) => None,
        (false, other) => Some(other),
        (true, Mp::Array(items)) => match items.as_slice() {
            [] => None,
            [one] => Some(one),
            _ => return Err(nested_option_mismatch(at, ty, mp_desc(v))),
        },
        (true, other) => return Err(nested_option_mismatch(at, ty, mp_desc(other))),
    };
    let Some(payload) = payload else {
        return Ok(Val::Option(None));
    };
    let inner_at = at.child(Seg::OptionSome);
    let val = match inner {
        Type::Option(o) => mp_option(payload, inner, &o.ty(), true, &inner_at)?,
        _ => mp_to_val(payload, inner, &inner_at)?,
    };
    Ok(Val::Option(Some(Box::new(val))))
}

fn mp_flags(v: &Mp, f: &wt::Flags, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let items = mp_array(v, ty, at)?;
    check_len(at, ty, "flags", f.names().len(), items.len())?;
    let mut set = Vec::new();
    for (name, item) in f.names().zip(items) {
        match item {
            Mp::Boolean(true) => set.push(name.to_owned()),
            Mp::Boolean(false) => {}
            other => {
                return Err(CodecError::Mismatch {
                    at: at.child(Seg::Flag(name)).render(),
                    expected: "bool".to_owned(),
                    got: mp_desc(other),
                });
            }
        }
    }
    Ok(Val::Flags(set))
}

// ---------------------------------------------------------------------------
// Val → msgpack
// ---------------------------------------------------------------------------

pub(super) fn val_to_mp(val: &Val, ty: &Type, at: &At<'_>) -> Result<Mp, CodecError> {
    Ok(match (ty, val) {
        (Type::Bool, Val::Bool(b)) => Mp::Boolean(*b),
        (Type::S8, Val::S8(n)) => Mp::from(*n),
        (Type::U8, Val::U8(n)) => Mp::from(*n),
        (Type::S16, Val::S16(n)) => Mp::from(*n),
        (Type::U16, Val::U16(n)) => Mp::from(*n),
        (Type::S32, Val::S32(n)) => Mp::from(*n),
        (Type::U32, Val::U32(n)) => Mp::from(*n),
        (Type::S64, Val::S64(n)) => Mp::from(*n),
        (Type::U64, Val::U64(n)) => Mp::from(*n),
        (Type::Float32, Val::Float32(x)) => Mp::F32(*x),
        (Type::Float64, Val::Float64(x)) => Mp::F64(*x),
        (Type::Char, Val::Char(c)) => Mp::from(c.to_string()),
        (Type::String, Val::String(s)) => Mp::from(s.as_str()),
        (Type::List(l), Val::List(items)) => list_to_mp(items, &l.ty(), at)?,
        (Type::FixedLengthList(l), Val::FixedLengthList(items)) => {
            check_len(at, ty, "elements", l.len() as usize, items.len())?;
            list_to_mp(items, &l.ty(), at)?
        }
        (Type::Record(r), Val::Record(fields)) => {
            Mp::Array(encode_record(fields, r, ty, at, val_to_mp)?)
        }
        (Type::Tuple(t), Val::Tuple(items)) => {
            Mp::Array(encode_tuple(items, t, ty, at, val_to_mp)?)
        }
        (Type::Variant(var), Val::Variant(name, payload)) => {
            variant_to_mp(var, name, payload.as_deref(), at)?
        }
        (Type::Enum(e), Val::Enum(name)) => Mp::from(enum_index(e, name, at)?),
        (Type::Option(o), Val::Option(opt)) => option_to_mp(opt.as_deref(), &o.ty(), false, at)?,
        (Type::Result(r), Val::Result(res)) => result_to_mp(r, res, at)?,
        (Type::Flags(f), Val::Flags(set)) => Mp::Array(
            flag_bits(f, set, at)?
                .into_iter()
                .map(Mp::Boolean)
                .collect(),
        ),
        _ => return Err(encode_mismatch(at, ty, val)),
    })
}

fn list_to_mp(items: &[Val], elem: &Type, at: &At<'_>) -> Result<Mp, CodecError> {
    if matches!(elem, Type::U8) {
        let bytes = items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Val::U8(b) => Ok(*b),
                other => Err(encode_mismatch(&at.child(Seg::Index(i)), elem, other)),
            })
            .collect::<Result<Vec<u8>, CodecError>>()?;
        return Ok(Mp::Binary(bytes));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| val_to_mp(item, elem, &at.child(Seg::Index(i))))
        .collect::<Result<Vec<_>, CodecError>>()
        .map(Mp::Array)
}

fn case_to_mp(index: usize, payload: Option<Mp>) -> Mp {
    match payload {
        None => Mp::from(index),
        Some(payload) => Mp::Map(vec![(Mp::from(index), payload)]),
    }
}

fn variant_to_mp(
    var: &wt::Variant,
    name: &str,
    payload: Option<&Val>,
    at: &At<'_>,
) -> Result<Mp, CodecError> {
    let (index, case) = var
        .cases()
        .enumerate()
        .find(|(_, c)| c.name == name)
        .ok_or_else(|| unknown(at, "case", name, var.cases().map(|c| c.name)))?;
    let payload = map_payload(case.name, case.ty.as_ref(), payload, at, val_to_mp)?;
    Ok(case_to_mp(index, payload))
}

fn result_to_mp(r: &wt::ResultType, res: &ResultVal, at: &At<'_>) -> Result<Mp, CodecError> {
    let (index, case, ty, payload) = match res {
        Ok(p) => (0, "ok", r.ok(), p.as_deref()),
        Err(p) => (1, "err", r.err(), p.as_deref()),
    };
    Ok(case_to_mp(
        index,
        map_payload(case, ty.as_ref(), payload, at, val_to_mp)?,
    ))
}

/// `nested`: see [`mp_option`].
fn option_to_mp(
    opt: Option<&Val>,
    inner: &Type,
    nested: bool,
    at: &At<'_>,
) -> Result<Mp, CodecError> {
    let Some(val) = opt else {
        return Ok(if nested {
            Mp::Array(Vec::new())
        } else {
            Mp::Nil
        });
    };
    let inner_at = at.child(Seg::OptionSome);
    let payload = match (inner, val) {
        (Type::Option(o), Val::Option(x)) => option_to_mp(x.as_deref(), &o.ty(), true, &inner_at)?,
        _ => val_to_mp(val, inner, &inner_at)?,
    };
    Ok(if nested {
        Mp::Array(vec![payload])
    } else {
        payload
    })
}
