//! Encoding: walks a value of any [`Schema`] along its type and writes the
//! mapping's msgpack straight into one buffer (no value tree), checking the
//! value against the type as it goes.

use rmp::encode::{self as mp, ByteBuf};

use super::super::error::{check_len, mismatch, unknown, unsupported};
use super::super::path::{At, Seg};
use super::super::schema::{Case, Fields, FlagSet, Scalar, Schema, Shape, View};
use super::super::{ValueError, error::payload_error};

/// The output buffer. Writing to memory cannot fail; lengths beyond
/// msgpack's 32 bits are refused.
pub(super) struct Out(ByteBuf);

impl Out {
    pub(super) fn new() -> Self {
        Out(ByteBuf::new())
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.0.into_vec()
    }

    pub(super) fn nil(&mut self) {
        let _ = mp::write_nil(&mut self.0);
    }

    fn bool(&mut self, b: bool) {
        let _ = mp::write_bool(&mut self.0, b);
    }

    fn uint(&mut self, n: u64) {
        let _ = mp::write_uint(&mut self.0, n);
    }

    fn sint(&mut self, n: i64) {
        let _ = mp::write_sint(&mut self.0, n);
    }

    fn str(&mut self, s: &str) -> Result<(), ValueError> {
        len32(s.len())?;
        let _ = mp::write_str(&mut self.0, s);
        Ok(())
    }

    fn bin(&mut self, b: &[u8]) -> Result<(), ValueError> {
        len32(b.len())?;
        let _ = mp::write_bin(&mut self.0, b);
        Ok(())
    }

    pub(super) fn array(&mut self, len: usize) -> Result<(), ValueError> {
        let _ = mp::write_array_len(&mut self.0, len32(len)?);
        Ok(())
    }

    /// A case: the bare index, or the head of `{index: payload}`.
    fn case(&mut self, index: usize, with_payload: bool) {
        if with_payload {
            let _ = mp::write_map_len(&mut self.0, 1);
        }
        self.uint(index as u64);
    }
}

fn len32(len: usize) -> Result<u32, ValueError> {
    u32::try_from(len).map_err(|_| ValueError::Write {
        encoding: "msgpack",
        reason: format!("{len} items or bytes are more than msgpack can hold"),
    })
}

/// Writes `value`, of type `ty`.
pub(super) fn value<S: Schema>(
    out: &mut Out,
    value: &S::Value,
    ty: &S::Type,
    at: &At<'_>,
) -> Result<(), ValueError> {
    let view = S::view(value);
    let kind = view.kind();
    let wrong = || mismatch(at, S::type_name(ty), format!("a {kind} value"));
    match (S::shape(ty), view) {
        (Shape::Unsupported, _) => return Err(unsupported(at, S::type_name(ty))),
        (shape, View::Scalar(s)) => {
            if !scalar(out, &shape, s) {
                return Err(wrong());
            }
        }
        (Shape::String, View::String(s)) => out.str(s)?,
        (Shape::List(elem), View::List(items)) => list::<S>(out, items, &elem, at)?,
        (Shape::FixedList(elem, len), View::FixedList(items)) => {
            check_len(at, || S::type_name(ty), "elements", len, items.len())?;
            list::<S>(out, items, &elem, at)?;
        }
        (Shape::Record(fields), View::Record(values)) => {
            record::<S>(out, &fields, values, || S::type_name(ty), at)?;
        }
        (Shape::Tuple(types), View::Tuple(items)) => {
            check_len(
                at,
                || S::type_name(ty),
                "elements",
                types.len(),
                items.len(),
            )?;
            out.array(items.len())?;
            for (i, (t, v)) in types.iter().zip(items).enumerate() {
                self::value::<S>(out, v, t, &at.child(Seg::Index(i)))?;
            }
        }
        (Shape::Variant(cases), View::Variant(case, payload)) => {
            let index = case_index(case, cases.iter().map(|(n, _)| *n), at)?;
            let (name, case_ty) = &cases[index];
            case_payload::<S>(out, index, name, case_ty.as_deref(), payload, at)?;
        }
        (Shape::Enum(names), View::Enum(case)) => {
            out.uint(case_index(case, names.iter().copied(), at)? as u64);
        }
        (Shape::Option(inner), View::Option(opt)) => option::<S>(out, opt, &inner, false, at)?,
        (Shape::Result { ok, err }, View::Result(res)) => {
            let (index, name, case_ty, payload) = match res {
                Ok(p) => (0, "ok", ok, p),
                Err(p) => (1, "err", err, p),
            };
            case_payload::<S>(out, index, name, case_ty.as_deref(), payload, at)?;
        }
        (Shape::Flags(names), View::Flags(set)) => {
            flags(out, &names, set, || S::type_name(ty), at)?;
        }
        _ => return Err(wrong()),
    }
    Ok(())
}

/// Writes a scalar of a scalar shape; `false` when they differ.
fn scalar<T: Clone>(out: &mut Out, shape: &Shape<'_, T>, s: Scalar) -> bool {
    match (shape, s) {
        (Shape::Bool, Scalar::Bool(b)) => out.bool(b),
        (Shape::S8, Scalar::S8(n)) => out.sint(n.into()),
        (Shape::U8, Scalar::U8(n)) => out.uint(n.into()),
        (Shape::S16, Scalar::S16(n)) => out.sint(n.into()),
        (Shape::U16, Scalar::U16(n)) => out.uint(n.into()),
        (Shape::S32, Scalar::S32(n)) => out.sint(n.into()),
        (Shape::U32, Scalar::U32(n)) => out.uint(n.into()),
        (Shape::S64, Scalar::S64(n)) => out.sint(n),
        (Shape::U64, Scalar::U64(n)) => out.uint(n),
        (Shape::F32, Scalar::F32(x)) => {
            let _ = mp::write_f32(&mut out.0, x);
        }
        (Shape::F64, Scalar::F64(x)) => {
            let _ = mp::write_f64(&mut out.0, x);
        }
        (Shape::Char, Scalar::Char(c)) => {
            let _ = mp::write_str(&mut out.0, c.encode_utf8(&mut [0; 4]));
        }
        _ => return false,
    }
    true
}

/// `list<u8>` is bin; other lists are arrays.
fn list<S: Schema>(
    out: &mut Out,
    items: &[S::Value],
    elem: &S::Type,
    at: &At<'_>,
) -> Result<(), ValueError> {
    if matches!(S::shape(elem), Shape::U8) {
        let bytes = items
            .iter()
            .enumerate()
            .map(|(i, item)| match S::view(item) {
                View::Scalar(Scalar::U8(b)) => Ok(b),
                other => Err(mismatch(
                    &at.child(Seg::Index(i)),
                    "u8",
                    format!("a {} value", other.kind()),
                )),
            })
            .collect::<Result<Vec<u8>, ValueError>>()?;
        return out.bin(&bytes);
    }
    out.array(items.len())?;
    for (i, item) in items.iter().enumerate() {
        value::<S>(out, item, elem, &at.child(Seg::Index(i)))?;
    }
    Ok(())
}

/// A record is an array of its field values in declaration order, whatever
/// order the value names them in.
fn record<S: Schema>(
    out: &mut Out,
    fields: &[(&str, std::borrow::Cow<'_, S::Type>)],
    values: Fields<'_, S::Value>,
    ty_name: impl Fn() -> String,
    at: &At<'_>,
) -> Result<(), ValueError> {
    let count = match values {
        Fields::Named(v) => v.len(),
        Fields::InOrder(v) => v.len(),
    };
    check_len(at, ty_name, "fields", fields.len(), count)?;
    out.array(fields.len())?;
    for (i, (name, field_ty)) in fields.iter().enumerate() {
        let field = match values {
            Fields::InOrder(v) => &v[i],
            Fields::Named(v) => v
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v)
                .ok_or_else(|| ValueError::MissingField {
                    at: at.render(),
                    field: (*name).to_owned(),
                })?,
        };
        value::<S>(out, field, field_ty, &at.child(Seg::Field(name)))?;
    }
    Ok(())
}

fn case_index<'n>(
    case: Case<'_>,
    mut names: impl Iterator<Item = &'n str> + Clone,
    at: &At<'_>,
) -> Result<usize, ValueError> {
    let count = names.clone().count();
    match case {
        Case::Index(i) if (i as usize) < count => Ok(i as usize),
        Case::Index(i) => Err(unknown(at, "case", &i.to_string(), names)),
        Case::Named(name) => names
            .clone()
            .position(|n| n == name)
            .ok_or_else(|| unknown(at, "case", name, names.by_ref())),
    }
}

/// A case: its index, with its payload when the case declares one.
fn case_payload<S: Schema>(
    out: &mut Out,
    index: usize,
    name: &str,
    case_ty: Option<&S::Type>,
    payload: Option<&S::Value>,
    at: &At<'_>,
) -> Result<(), ValueError> {
    match (case_ty, payload) {
        (None, None) => {
            out.case(index, false);
            Ok(())
        }
        (Some(t), Some(v)) => {
            out.case(index, true);
            value::<S>(out, v, t, &at.child(Seg::Case(name)))
        }
        (Some(t), None) => Err(payload_error(
            at,
            name,
            format!("needs a payload of type {}", S::type_name(t)),
        )),
        (None, Some(_)) => Err(payload_error(at, name, "takes no payload".to_owned())),
    }
}

/// An option is nil or the value; `nested` (directly inside an option), an
/// array of zero or one element.
fn option<S: Schema>(
    out: &mut Out,
    opt: Option<&S::Value>,
    inner: &S::Type,
    nested: bool,
    at: &At<'_>,
) -> Result<(), ValueError> {
    let Some(v) = opt else {
        if nested {
            out.array(0)?;
        } else {
            out.nil();
        }
        return Ok(());
    };
    if nested {
        out.array(1)?;
    }
    let some = at.child(Seg::OptionSome);
    match (S::shape(inner), S::view(v)) {
        (Shape::Option(innermost), View::Option(x)) => option::<S>(out, x, &innermost, true, &some),
        _ => value::<S>(out, v, inner, &some),
    }
}

/// Flags are an array of booleans, one per declared flag.
fn flags(
    out: &mut Out,
    names: &[&str],
    set: FlagSet<'_>,
    ty_name: impl Fn() -> String,
    at: &At<'_>,
) -> Result<(), ValueError> {
    out.array(names.len())?;
    match set {
        FlagSet::Bits(bits) => {
            check_len(at, ty_name, "flags", names.len(), bits.len())?;
            bits.iter().for_each(|b| out.bool(*b));
        }
        FlagSet::Named(set) => {
            if let Some(bad) = set.iter().find(|s| !names.contains(&s.as_str())) {
                return Err(unknown(at, "flag", bad, names.iter()));
            }
            for name in names {
                out.bool(set.iter().any(|s| s == name));
            }
        }
    }
    Ok(())
}
