//! [`Wit`]: floe-wire's own [`WitType`] and [`WitValue`] as a [`Schema`],
//! for tools and tests that hold no runtime's values.

use std::borrow::Cow;

use super::schema::{Case, Fields, FlagSet, Made, Scalar, Schema, Shape, View};
use super::types::{WitType, WitValue};

/// The [`Schema`] of [`WitType`] and [`WitValue`].
#[derive(Debug)]
pub struct Wit;

impl Schema for Wit {
    type Type = WitType;
    type Value = WitValue;

    fn shape(ty: &WitType) -> Shape<'_, WitType> {
        match ty {
            WitType::Bool => Shape::Bool,
            WitType::S8 => Shape::S8,
            WitType::U8 => Shape::U8,
            WitType::S16 => Shape::S16,
            WitType::U16 => Shape::U16,
            WitType::S32 => Shape::S32,
            WitType::U32 => Shape::U32,
            WitType::S64 => Shape::S64,
            WitType::U64 => Shape::U64,
            WitType::F32 => Shape::F32,
            WitType::F64 => Shape::F64,
            WitType::Char => Shape::Char,
            WitType::String => Shape::String,
            WitType::List(t) => Shape::List(b(t)),
            WitType::Record(fields) => {
                Shape::Record(fields.iter().map(|(n, t)| (n.as_str(), b(t))).collect())
            }
            WitType::Tuple(ts) => Shape::Tuple(ts.iter().map(b).collect()),
            WitType::Variant(cases) => Shape::Variant(
                cases
                    .iter()
                    .map(|(n, t)| (n.as_str(), t.as_ref().map(b)))
                    .collect(),
            ),
            WitType::Enum(names) => Shape::Enum(names.iter().map(String::as_str).collect()),
            WitType::Option(t) => Shape::Option(b(t)),
            WitType::Result { ok, err } => Shape::Result {
                ok: ok.as_deref().map(b),
                err: err.as_deref().map(b),
            },
            WitType::Flags(names) => Shape::Flags(names.iter().map(String::as_str).collect()),
        }
    }

    fn type_name(ty: &WitType) -> String {
        ty.describe()
    }

    fn view(value: &WitValue) -> View<'_, WitValue> {
        match value {
            WitValue::Bool(b) => View::Scalar(Scalar::Bool(*b)),
            WitValue::S8(n) => View::Scalar(Scalar::S8(*n)),
            WitValue::U8(n) => View::Scalar(Scalar::U8(*n)),
            WitValue::S16(n) => View::Scalar(Scalar::S16(*n)),
            WitValue::U16(n) => View::Scalar(Scalar::U16(*n)),
            WitValue::S32(n) => View::Scalar(Scalar::S32(*n)),
            WitValue::U32(n) => View::Scalar(Scalar::U32(*n)),
            WitValue::S64(n) => View::Scalar(Scalar::S64(*n)),
            WitValue::U64(n) => View::Scalar(Scalar::U64(*n)),
            WitValue::F32(x) => View::Scalar(Scalar::F32(*x)),
            WitValue::F64(x) => View::Scalar(Scalar::F64(*x)),
            WitValue::Char(c) => View::Scalar(Scalar::Char(*c)),
            WitValue::String(s) => View::String(s),
            WitValue::List(items) => View::List(items),
            WitValue::Record(values) => View::Record(Fields::InOrder(values)),
            WitValue::Tuple(items) => View::Tuple(items),
            WitValue::Variant(index, payload) => {
                View::Variant(Case::Index(*index), payload.as_deref())
            }
            WitValue::Enum(index) => View::Enum(Case::Index(*index)),
            WitValue::Option(opt) => View::Option(opt.as_deref()),
            WitValue::Result(res) => View::Result(match res {
                Ok(p) => Ok(p.as_deref()),
                Err(p) => Err(p.as_deref()),
            }),
            WitValue::Flags(bits) => View::Flags(FlagSet::Bits(bits)),
        }
    }

    fn make(parts: Made<'_, WitValue>) -> WitValue {
        match parts {
            Made::Scalar(s) => match s {
                Scalar::Bool(b) => WitValue::Bool(b),
                Scalar::S8(n) => WitValue::S8(n),
                Scalar::U8(n) => WitValue::U8(n),
                Scalar::S16(n) => WitValue::S16(n),
                Scalar::U16(n) => WitValue::U16(n),
                Scalar::S32(n) => WitValue::S32(n),
                Scalar::U32(n) => WitValue::U32(n),
                Scalar::S64(n) => WitValue::S64(n),
                Scalar::U64(n) => WitValue::U64(n),
                Scalar::F32(x) => WitValue::F32(x),
                Scalar::F64(x) => WitValue::F64(x),
                Scalar::Char(c) => WitValue::Char(c),
            },
            Made::String(s) => WitValue::String(s),
            Made::List(items) | Made::FixedList(items) => WitValue::List(items),
            Made::Record(fields) => WitValue::Record(fields.into_iter().map(|(_, v)| v).collect()),
            Made::Tuple(items) => WitValue::Tuple(items),
            Made::Variant { index, payload, .. } => WitValue::Variant(index, payload.map(Box::new)),
            Made::Enum { index, .. } => WitValue::Enum(index),
            Made::Option(opt) => WitValue::Option(opt.map(Box::new)),
            Made::Result(res) => WitValue::Result(match res {
                Ok(p) => Ok(p.map(Box::new)),
                Err(p) => Err(p.map(Box::new)),
            }),
            Made::Flags(bits) => WitValue::Flags(bits.into_iter().map(|(_, b)| b).collect()),
        }
    }
}

fn b(t: &WitType) -> Cow<'_, WitType> {
    Cow::Borrowed(t)
}
