//! The codec's errors: floe-wire's [`ValueError`](floe_wire::values::ValueError),
//! the one vocabulary of value errors (re-exported as [`CodecError`]), the
//! place it names (`At`, `Seg`), and constructors that name wasmtime types.

use floe_wire::values::error as wire;
use wasmtime::component::{Type, Val};

use super::types::{is_unsupported, type_name, val_kind};

pub(super) use floe_wire::values::{At, Seg};
pub(super) use wire::{malformed, payload_error, unknown};

/// Why a payload could not be decoded or values could not be encoded.
/// `at` says where: "parameter 2 (`b`), field `x`, element 3", "result", …
pub use floe_wire::values::ValueError as CodecError;

pub(super) fn unsupported(at: &At<'_>, ty: &Type) -> CodecError {
    wire::unsupported(at, type_name(ty))
}

pub(super) fn mismatch(at: &At<'_>, ty: &Type, got: String) -> CodecError {
    wire::mismatch(at, type_name(ty), got)
}

pub(super) fn encode_mismatch(at: &At<'_>, ty: &Type, val: &Val) -> CodecError {
    if is_unsupported(ty) {
        return unsupported(at, ty);
    }
    mismatch(at, ty, format!("a {} value", val_kind(val)))
}

pub(super) fn nested_option_mismatch(at: &At<'_>, ty: &Type, got: String) -> CodecError {
    wire::nested_option_mismatch(at, &type_name(ty), got)
}

pub(super) fn out_of_range(at: &At<'_>, ty: &Type, value: String) -> CodecError {
    wire::out_of_range(at, type_name(ty), value)
}

pub(super) fn check_len(
    at: &At<'_>,
    ty: &Type,
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), CodecError> {
    wire::check_len(at, || type_name(ty), what, expected, got)
}

/// Refuses types that cannot cross the wire, wherever they are nested.
pub(super) fn check_wire_type(ty: &Type, at: &At<'_>) -> Result<(), CodecError> {
    match ty {
        _ if is_unsupported(ty) => Err(unsupported(at, ty)),
        Type::List(l) => check_wire_type(&l.ty(), at),
        Type::FixedLengthList(l) => check_wire_type(&l.ty(), at),
        Type::Option(o) => check_wire_type(&o.ty(), &at.child(Seg::OptionSome)),
        Type::Result(r) => {
            r.ok()
                .iter()
                .try_for_each(|t| check_wire_type(t, &at.child(Seg::Case("ok"))))?;
            r.err()
                .iter()
                .try_for_each(|t| check_wire_type(t, &at.child(Seg::Case("err"))))
        }
        Type::Tuple(t) => t
            .types()
            .enumerate()
            .try_for_each(|(i, t)| check_wire_type(&t, &at.child(Seg::Index(i)))),
        Type::Record(r) => r
            .fields()
            .try_for_each(|f| check_wire_type(&f.ty, &at.child(Seg::Field(f.name)))),
        Type::Variant(v) => v.cases().try_for_each(|c| match &c.ty {
            Some(t) => check_wire_type(t, &at.child(Seg::Case(c.name))),
            None => Ok(()),
        }),
        _ => Ok(()),
    }
}
