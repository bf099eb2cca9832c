//! The msgpack encoding of wasmtime values: floe-wire's one mapping
//! (`floe_wire::values::msgpack`), walked through [`Wasm`], the schema of
//! wasmtime's component `Type` and `Val`. Nothing of the mapping itself is
//! here: only how a `Type` and a `Val` look to it, and how a `Val` is made.

use std::borrow::Cow;

use floe_wire::values::schema::{Case, Fields, FlagSet, Made, Scalar, Schema, Shape, View};
use wasmtime::component::{Type, Val};

use super::types::{type_name, val_kind};

/// The [`Schema`] of wasmtime's component types and values.
#[derive(Debug)]
pub(super) struct Wasm;

impl Schema for Wasm {
    type Type = Type;
    type Value = Val;

    fn shape(ty: &Type) -> Shape<'_, Type> {
        match ty {
            Type::Bool => Shape::Bool,
            Type::S8 => Shape::S8,
            Type::U8 => Shape::U8,
            Type::S16 => Shape::S16,
            Type::U16 => Shape::U16,
            Type::S32 => Shape::S32,
            Type::U32 => Shape::U32,
            Type::S64 => Shape::S64,
            Type::U64 => Shape::U64,
            Type::Float32 => Shape::F32,
            Type::Float64 => Shape::F64,
            Type::Char => Shape::Char,
            Type::String => Shape::String,
            Type::List(l) => Shape::List(Cow::Owned(l.ty())),
            Type::FixedLengthList(l) => Shape::FixedList(Cow::Owned(l.ty()), l.len() as usize),
            Type::Record(r) => {
                Shape::Record(r.fields().map(|f| (f.name, Cow::Owned(f.ty))).collect())
            }
            Type::Tuple(t) => Shape::Tuple(t.types().map(Cow::Owned).collect()),
            Type::Variant(v) => {
                Shape::Variant(v.cases().map(|c| (c.name, c.ty.map(Cow::Owned))).collect())
            }
            Type::Enum(e) => Shape::Enum(e.names().collect()),
            Type::Option(o) => Shape::Option(Cow::Owned(o.ty())),
            Type::Result(r) => Shape::Result {
                ok: r.ok().map(Cow::Owned),
                err: r.err().map(Cow::Owned),
            },
            Type::Flags(f) => Shape::Flags(f.names().collect()),
            Type::Map(_)
            | Type::Own(_)
            | Type::Borrow(_)
            | Type::Future(_)
            | Type::Stream(_)
            | Type::ErrorContext => Shape::Unsupported,
        }
    }

    fn type_name(ty: &Type) -> String {
        type_name(ty)
    }

    fn view(value: &Val) -> View<'_, Val> {
        match value {
            Val::Bool(b) => View::Scalar(Scalar::Bool(*b)),
            Val::S8(n) => View::Scalar(Scalar::S8(*n)),
            Val::U8(n) => View::Scalar(Scalar::U8(*n)),
            Val::S16(n) => View::Scalar(Scalar::S16(*n)),
            Val::U16(n) => View::Scalar(Scalar::U16(*n)),
            Val::S32(n) => View::Scalar(Scalar::S32(*n)),
            Val::U32(n) => View::Scalar(Scalar::U32(*n)),
            Val::S64(n) => View::Scalar(Scalar::S64(*n)),
            Val::U64(n) => View::Scalar(Scalar::U64(*n)),
            Val::Float32(x) => View::Scalar(Scalar::F32(*x)),
            Val::Float64(x) => View::Scalar(Scalar::F64(*x)),
            Val::Char(c) => View::Scalar(Scalar::Char(*c)),
            Val::String(s) => View::String(s),
            Val::List(items) => View::List(items),
            Val::FixedLengthList(items) => View::FixedList(items),
            Val::Record(fields) => View::Record(Fields::Named(fields)),
            Val::Tuple(items) => View::Tuple(items),
            Val::Variant(name, payload) => View::Variant(Case::Named(name), payload.as_deref()),
            Val::Enum(name) => View::Enum(Case::Named(name)),
            Val::Option(opt) => View::Option(opt.as_deref()),
            Val::Result(res) => View::Result(match res {
                Ok(p) => Ok(p.as_deref()),
                Err(p) => Err(p.as_deref()),
            }),
            Val::Flags(set) => View::Flags(FlagSet::Named(set)),
            other => View::Other(val_kind(other)),
        }
    }

    fn make(parts: Made<'_, Val>) -> Val {
        match parts {
            Made::Scalar(s) => match s {
                Scalar::Bool(b) => Val::Bool(b),
                Scalar::S8(n) => Val::S8(n),
                Scalar::U8(n) => Val::U8(n),
                Scalar::S16(n) => Val::S16(n),
                Scalar::U16(n) => Val::U16(n),
                Scalar::S32(n) => Val::S32(n),
                Scalar::U32(n) => Val::U32(n),
                Scalar::S64(n) => Val::S64(n),
                Scalar::U64(n) => Val::U64(n),
                Scalar::F32(x) => Val::Float32(x),
                Scalar::F64(x) => Val::Float64(x),
                Scalar::Char(c) => Val::Char(c),
            },
            Made::String(s) => Val::String(s),
            Made::List(items) => Val::List(items),
            Made::FixedList(items) => Val::FixedLengthList(items),
            Made::Record(fields) => Val::Record(
                fields
                    .into_iter()
                    .map(|(name, v)| (name.to_owned(), v))
                    .collect(),
            ),
            Made::Tuple(items) => Val::Tuple(items),
            Made::Variant { name, payload, .. } => {
                Val::Variant(name.to_owned(), payload.map(Box::new))
            }
            Made::Enum { name, .. } => Val::Enum(name.to_owned()),
            Made::Option(opt) => Val::Option(opt.map(Box::new)),
            Made::Result(res) => Val::Result(match res {
                Ok(p) => Ok(p.map(Box::new)),
                Err(p) => Err(p.map(Box::new)),
            }),
            Made::Flags(bits) => Val::Flags(
                bits.into_iter()
                    .filter(|(_, set)| *set)
                    .map(|(name, _)| name.to_owned())
                    .collect(),
            ),
        }
    }
}
