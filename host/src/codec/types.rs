//! Types and values as error messages name them (`list<u8>`,
//! `record { a: u32, b: string }`, "a string value"), and which types
//! cannot cross the wire (`error::check_wire_type` refuses them).

use wasmtime::component::{Type, Val};

/// The type in WIT-like text: `list<u8>`, `record { a: u32, b: string }`, …
pub(super) fn type_name(ty: &Type) -> String {
    match ty {
        Type::List(l) => format!("list<{}>", type_name(&l.ty())),
        Type::FixedLengthList(l) => format!("list<{}, {}>", type_name(&l.ty()), l.len()),
        Type::Map(m) => format!("map<{}, {}>", type_name(&m.key()), type_name(&m.value())),
        Type::Option(o) => format!("option<{}>", type_name(&o.ty())),
        Type::Result(r) => match (r.ok(), r.err()) {
            (None, None) => "result".to_owned(),
            (Some(ok), None) => format!("result<{}>", type_name(&ok)),
            (None, Some(err)) => format!("result<_, {}>", type_name(&err)),
            (Some(ok), Some(err)) => format!("result<{}, {}>", type_name(&ok), type_name(&err)),
        },
        Type::Tuple(t) => format!("tuple<{}>", join(t.types().map(|t| type_name(&t)))),
        Type::Record(r) => {
            format!(
                "record {{ {} }}",
                join(
                    r.fields()
                        .map(|f| format!("{}: {}", f.name, type_name(&f.ty)))
                )
            )
        }
        Type::Variant(v) => format!(
            "variant {{ {} }}",
            join(v.cases().map(|c| match &c.ty {
                Some(t) => format!("{}({})", c.name, type_name(t)),
                None => c.name.to_owned(),
            }))
        ),
        Type::Enum(e) => format!("enum {{ {} }}", join(e.names().map(str::to_owned))),
        Type::Flags(f) => format!("flags {{ {} }}", join(f.names().map(str::to_owned))),
        Type::Future(f) => f.ty().map_or_else(
            || "future".to_owned(),
            |t| format!("future<{}>", type_name(&t)),
        ),
        Type::Stream(s) => s.ty().map_or_else(
            || "stream".to_owned(),
            |t| format!("stream<{}>", type_name(&t)),
        ),
        other => primitive_name(other).to_owned(),
    }
}

fn primitive_name(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::Own(_) => "own<resource>",
        Type::Borrow(_) => "borrow<resource>",
        Type::ErrorContext => "error-context",
        _ => "value",
    }
}

pub(super) fn val_kind(val: &Val) -> &'static str {
    match val {
        Val::Bool(_) => "bool",
        Val::S8(_) => "s8",
        Val::U8(_) => "u8",
        Val::S16(_) => "s16",
        Val::U16(_) => "u16",
        Val::S32(_) => "s32",
        Val::U32(_) => "u32",
        Val::S64(_) => "s64",
        Val::U64(_) => "u64",
        Val::Float32(_) => "f32",
        Val::Float64(_) => "f64",
        Val::Char(_) => "char",
        Val::String(_) => "string",
        Val::List(_) => "list",
        Val::FixedLengthList(_) => "fixed-length list",
        Val::Map(_) => "map",
        Val::Record(_) => "record",
        Val::Tuple(_) => "tuple",
        Val::Variant(..) => "variant",
        Val::Enum(_) => "enum",
        Val::Option(_) => "option",
        Val::Result(_) => "result",
        Val::Flags(_) => "flags",
        Val::Resource(_) => "resource",
        Val::Future(_) => "future",
        Val::Stream(_) => "stream",
        Val::ErrorContext(_) => "error-context",
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

pub(super) fn is_unsupported(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Map(_)
            | Type::Own(_)
            | Type::Borrow(_)
            | Type::Future(_)
            | Type::Stream(_)
            | Type::ErrorContext
    )
}
