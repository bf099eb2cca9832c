//! The JSON mapping, for people, both ways: records are objects keyed by
//! field name, cases are named (`"case"` or `{"case": payload}`), flags are
//! an array of the set names (see the `codec` module's documentation for
//! the whole mapping).

use serde_json::Value as Json;
use wasmtime::component::types as wt;
use wasmtime::component::{Type, Val};

use super::error::{
    At, CodecError, Seg, check_len, encode_mismatch, malformed, mismatch, nested_option_mismatch,
    unknown, unsupported,
};
use super::shared::{
    ResultVal, declaration_order, decode_payload, encode_record, encode_tuple, enum_index,
    flag_bits, float_to_val, int_to_val, map_payload, one_char,
};
use super::types::type_name;

pub(super) fn read_json(payload: &[u8]) -> Result<Json, CodecError> {
    serde_json::from_slice(payload).map_err(|e| malformed("JSON", e))
}

pub(super) fn write_json(value: &Json) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(value).map_err(|e| CodecError::Write {
        encoding: "JSON",
        reason: e.to_string(),
    })
}

// ---------------------------------------------------------------------------
// JSON → Val
// ---------------------------------------------------------------------------

pub(super) fn json_desc(v: &Json) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => format!("bool {b}"),
        Json::Number(n) => format!("number {n}"),
        Json::String(_) => "string".to_owned(),
        Json::Array(a) => format!("array of {}", a.len()),
        Json::Object(o) => format!("object with {} key(s)", o.len()),
    }
}

pub(super) fn json_to_val(v: &Json, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let wrong = || mismatch(at, ty, json_desc(v));
    match ty {
        Type::Bool => v.as_bool().map(Val::Bool).ok_or_else(wrong),
        Type::S8
        | Type::U8
        | Type::S16
        | Type::U16
        | Type::S32
        | Type::U32
        | Type::S64
        | Type::U64 => int_to_val(json_int(v).ok_or_else(wrong)?, ty, at),
        Type::Float32 | Type::Float64 => float_to_val(v.as_f64().ok_or_else(wrong)?, ty, at),
        Type::Char => one_char(v.as_str().ok_or_else(wrong)?, at),
        Type::String => Ok(Val::String(v.as_str().ok_or_else(wrong)?.to_owned())),
        Type::List(l) => json_items(v, &l.ty(), ty, at).map(Val::List),
        Type::FixedLengthList(l) => {
            let items = json_items(v, &l.ty(), ty, at)?;
            check_len(at, ty, "elements", l.len() as usize, items.len())?;
            Ok(Val::FixedLengthList(items))
        }
        Type::Record(r) => json_record(v, r, ty, at),
        Type::Tuple(t) => json_tuple(v, t, ty, at),
        Type::Variant(var) => json_variant(v, var, ty, at),
        Type::Enum(e) => json_enum(v, e, ty, at),
        Type::Option(o) => json_option(v, ty, &o.ty(), false, at),
        Type::Result(r) => json_result(v, r, ty, at),
        Type::Flags(f) => json_flags(v, f, ty, at),
        Type::Map(_)
        | Type::Own(_)
        | Type::Borrow(_)
        | Type::Future(_)
        | Type::Stream(_)
        | Type::ErrorContext => Err(unsupported(at, ty)),
    }
}

/// An integral JSON number (a number written with a fraction is not).
fn json_int(v: &Json) -> Option<i128> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

fn json_array<'v>(v: &'v Json, ty: &Type, at: &At<'_>) -> Result<&'v [Json], CodecError> {
    match v {
        Json::Array(items) => Ok(items),
        _ => Err(mismatch(at, ty, json_desc(v))),
    }
}

fn json_items(v: &Json, elem: &Type, ty: &Type, at: &At<'_>) -> Result<Vec<Val>, CodecError> {
    json_array(v, ty, at)?
        .iter()
        .enumerate()
        .map(|(i, item)| json_to_val(item, elem, &at.child(Seg::Index(i))))
        .collect()
}

fn json_record(v: &Json, r: &wt::Record, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let Json::Object(map) = v else {
        return Err(mismatch(at, ty, json_desc(v)));
    };
    if let Some(extra) = map
        .keys()
        .find(|k| !r.fields().any(|f| f.name == k.as_str()))
    {
        return Err(unknown(at, "field", extra, r.fields().map(|f| f.name)));
    }
    r.fields()
        .map(|f| {
            let item = map.get(f.name).ok_or_else(|| CodecError::MissingField {
                at: at.render(),
                field: f.name.to_owned(),
            })?;
            let val = json_to_val(item, &f.ty, &at.child(Seg::Field(f.name)))?;
            Ok((f.name.to_owned(), val))
        })
        .collect::<Result<Vec<_>, CodecError>>()
        .map(Val::Record)
}

fn json_tuple(v: &Json, t: &wt::Tuple, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let items = json_array(v, ty, at)?;
    check_len(at, ty, "elements", t.types().len(), items.len())?;
    t.types()
        .zip(items)
        .enumerate()
        .map(|(i, (elem, item))| json_to_val(item, &elem, &at.child(Seg::Index(i))))
        .collect::<Result<Vec<_>, CodecError>>()
        .map(Val::Tuple)
}

/// A case in JSON: `"case"`, or a one-key object `{"case": payload}`.
fn json_case<'v>(
    v: &'v Json,
    ty: &Type,
    at: &At<'_>,
) -> Result<(&'v str, Option<&'v Json>), CodecError> {
    match v {
        Json::String(name) => return Ok((name.as_str(), None)),
        Json::Object(map) if map.len() == 1 => {
            if let Some((name, payload)) = map.iter().next() {
                return Ok((name.as_str(), Some(payload)));
            }
        }
        _ => {}
    }
    Err(CodecError::Mismatch {
        at: at.render(),
        expected: format!("{}: \"case\" or {{\"case\": payload}}", type_name(ty)),
        got: json_desc(v),
    })
}

fn json_variant(v: &Json, var: &wt::Variant, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let (name, payload) = json_case(v, ty, at)?;
    let case = var
        .cases()
        .find(|c| c.name == name)
        .ok_or_else(|| unknown(at, "case", name, var.cases().map(|c| c.name)))?;
    let payload = decode_payload(case.name, case.ty.as_ref(), payload, at, json_to_val)?;
    Ok(Val::Variant(case.name.to_owned(), payload))
}

fn json_enum(v: &Json, e: &wt::Enum, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let name = v.as_str().ok_or_else(|| CodecError::Mismatch {
        at: at.render(),
        expected: format!("{}: \"case\"", type_name(ty)),
        got: json_desc(v),
    })?;
    enum_index(e, name, at)?;
    Ok(Val::Enum(name.to_owned()))
}

fn json_result(v: &Json, r: &wt::ResultType, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    match json_case(v, ty, at)? {
        ("ok", payload) => Ok(Val::Result(Ok(decode_payload(
            "ok",
            r.ok().as_ref(),
            payload,
            at,
            json_to_val,
        )?))),
        ("err", payload) => Ok(Val::Result(Err(decode_payload(
            "err",
            r.err().as_ref(),
            payload,
            at,
            json_to_val,
        )?))),
        (other, _) => Err(unknown(at, "case", other, ["ok", "err"].into_iter())),
    }
}

/// `nested`: this option sits directly inside an option, so it is an array
/// of zero or one element rather than null or the value.
fn json_option(
    v: &Json,
    ty: &Type,
    inner: &Type,
    nested: bool,
    at: &At<'_>,
) -> Result<Val, CodecError> {
    let payload = match (nested, v) {
        (false, Json::Null) => None,
        (false, other) => Some(other),
        (true, Json::Array(items)) => match items.as_slice() {
            [] => None,
            [one] => Some(one),
            _ => return Err(nested_option_mismatch(at, ty, json_desc(v))),
        },
        (true, other) => return Err(nested_option_mismatch(at, ty, json_desc(other))),
    };
    let Some(payload) = payload else {
        return Ok(Val::Option(None));
    };
    let inner_at = at.child(Seg::OptionSome);
    let val = match inner {
        Type::Option(o) => json_option(payload, inner, &o.ty(), true, &inner_at)?,
        _ => json_to_val(payload, inner, &inner_at)?,
    };
    Ok(Val::Option(Some(Box::new(val))))
}

/// Flags in JSON: the names of the set flags; returned in declaration order.
fn json_flags(v: &Json, f: &wt::Flags, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let mut set: Vec<&str> = Vec::new();
    for (i, item) in json_array(v, ty, at)?.iter().enumerate() {
        let name = item.as_str().ok_or_else(|| CodecError::Mismatch {
            at: at.child(Seg::Index(i)).render(),
            expected: "a flag name".to_owned(),
            got: json_desc(item),
        })?;
        if !f.names().any(|n| n == name) {
            return Err(unknown(at, "flag", name, f.names()));
        }
        if set.contains(&name) {
            return Err(CodecError::DuplicateFlag {
                at: at.render(),
                flag: name.to_owned(),
            });
        }
        set.push(name);
    }
    Ok(Val::Flags(declaration_order(f, set.as_slice())))
}

// ---------------------------------------------------------------------------
// Val → JSON
// ---------------------------------------------------------------------------

pub(super) fn val_to_json(val: &Val, ty: &Type, at: &At<'_>) -> Result<Json, CodecError> {
    Ok(match (ty, val) {
        (Type::Bool, Val::Bool(b)) => Json::Bool(*b),
        (Type::S8, Val::S8(n)) => Json::from(*n),
        (Type::U8, Val::U8(n)) => Json::from(*n),
        (Type::S16, Val::S16(n)) => Json::from(*n),
        (Type::U16, Val::U16(n)) => Json::from(*n),
        (Type::S32, Val::S32(n)) => Json::from(*n),
        (Type::U32, Val::U32(n)) => Json::from(*n),
        (Type::S64, Val::S64(n)) => Json::from(*n),
        (Type::U64, Val::U64(n)) => Json::from(*n),
        (Type::Float32, Val::Float32(x)) => f32_to_json(*x, at)?,
        (Type::Float64, Val::Float64(x)) => f64_to_json(*x, at)?,
        (Type::Char, Val::Char(c)) => Json::String(c.to_string()),
        (Type::String, Val::String(s)) => Json::String(s.clone()),
        (Type::List(l), Val::List(items)) => list_to_json(items, &l.ty(), at)?,
        (Type::FixedLengthList(l), Val::FixedLengthList(items)) => {
            check_len(at, ty, "elements", l.len() as usize, items.len())?;
            list_to_json(items, &l.ty(), at)?
        }
        (Type::Record(r), Val::Record(fields)) => {
            let values = encode_record(fields, r, ty, at, val_to_json)?;
            Json::Object(
                r.fields()
                    .zip(values)
                    .map(|(f, v)| (f.name.to_owned(), v))
                    .collect(),
            )
        }
        (Type::Tuple(t), Val::Tuple(items)) => {
            Json::Array(encode_tuple(items, t, ty, at, val_to_json)?)
        }
        (Type::Variant(var), Val::Variant(name, payload)) => {
            variant_to_json(var, name, payload.as_deref(), at)?
        }
        (Type::Enum(e), Val::Enum(name)) => {
            enum_index(e, name, at)?;
            Json::String(name.clone())
        }
        (Type::Option(o), Val::Option(opt)) => option_to_json(opt.as_deref(), &o.ty(), false, at)?,
        (Type::Result(r), Val::Result(res)) => result_to_json(r, res, at)?,
        (Type::Flags(f), Val::Flags(set)) => {
            let bits = flag_bits(f, set, at)?;
            Json::Array(
                f.names()
                    .zip(bits)
                    .filter(|(_, on)| *on)
                    .map(|(n, _)| Json::from(n))
                    .collect(),
            )
        }
        _ => return Err(encode_mismatch(at, ty, val)),
    })
}

fn f64_to_json(x: f64, at: &At<'_>) -> Result<Json, CodecError> {
    serde_json::Number::from_f64(x)
        .map(Json::Number)
        .ok_or_else(|| CodecError::NoJsonForm {
            at: at.render(),
            value: x.to_string(),
        })
}

/// Written with f32's shortest decimal form (0.1, not 0.10000000149011612),
/// which reads back as the same f32.
fn f32_to_json(x: f32, at: &At<'_>) -> Result<Json, CodecError> {
    let wide = x.to_string().parse::<f64>().unwrap_or(f64::from(x));
    f64_to_json(wide, at)
}

fn list_to_json(items: &[Val], elem: &Type, at: &At<'_>) -> Result<Json, CodecError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| val_to_json(item, elem, &at.child(Seg::Index(i))))
        .collect::<Result<Vec<_>, CodecError>>()
        .map(Json::Array)
}

fn case_to_json(case: &str, payload: Option<Json>) -> Json {
    match payload {
        None => Json::from(case),
        Some(payload) => {
            let mut map = serde_json::Map::new();
            map.insert(case.to_owned(), payload);
            Json::Object(map)
        }
    }
}

fn variant_to_json(
    var: &wt::Variant,
    name: &str,
    payload: Option<&Val>,
    at: &At<'_>,
) -> Result<Json, CodecError> {
    let case = var
        .cases()
        .find(|c| c.name == name)
        .ok_or_else(|| unknown(at, "case", name, var.cases().map(|c| c.name)))?;
    let payload = map_payload(case.name, case.ty.as_ref(), payload, at, val_to_json)?;
    Ok(case_to_json(case.name, payload))
}

fn result_to_json(r: &wt::ResultType, res: &ResultVal, at: &At<'_>) -> Result<Json, CodecError> {
    let (case, ty, payload) = match res {
        Ok(p) => ("ok", r.ok(), p.as_deref()),
        Err(p) => ("err", r.err(), p.as_deref()),
    };
    Ok(case_to_json(
        case,
        map_payload(case, ty.as_ref(), payload, at, val_to_json)?,
    ))
}

/// `nested`: see [`json_option`].
fn option_to_json(
    opt: Option<&Val>,
    inner: &Type,
    nested: bool,
    at: &At<'_>,
) -> Result<Json, CodecError> {
    let Some(val) = opt else {
        return Ok(if nested {
            Json::Array(Vec::new())
        } else {
            Json::Null
        });
    };
    let inner_at = at.child(Seg::OptionSome);
    let payload = match (inner, val) {
        (Type::Option(o), Val::Option(x)) => {
            option_to_json(x.as_deref(), &o.ty(), true, &inner_at)?
        }
        _ => val_to_json(val, inner, &inner_at)?,
    };
    Ok(if nested {
        Json::Array(vec![payload])
    } else {
        payload
    })
}
