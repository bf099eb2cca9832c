//! The codec's errors: [`CodecError`], and `At`, the place in a payload
//! (parameter, field, element, case…) that an error message names, with
//! the constructors the encodings share.

use wasmtime::component::{Type, Val};

use super::types::{is_unsupported, quoted, type_name, val_kind};

/// Why a payload could not be decoded or values could not be encoded.
/// `at` says where: "parameter 2 (`b`), field `x`, element 3", "result", …
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("malformed {encoding} payload: {reason}")]
    Malformed {
        encoding: &'static str,
        reason: String,
    },
    #[error("expected {expected} parameter(s), got {got}")]
    ParamCount { expected: usize, got: usize },
    #[error("expected {expected} result value(s), got {got} (a function has at most one result)")]
    ResultCount { expected: usize, got: usize },
    #[error("{at}: expected {expected}, got {got}")]
    Mismatch {
        at: String,
        expected: String,
        got: String,
    },
    #[error("{at}: {value} is out of range for {ty}")]
    OutOfRange {
        at: String,
        ty: String,
        value: String,
    },
    #[error("{at}: {ty} has {expected} {what}, got {got}")]
    WrongLength {
        at: String,
        ty: String,
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{at}: unknown {what} `{name}` (expected one of {known})")]
    Unknown {
        at: String,
        what: &'static str,
        name: String,
        known: String,
    },
    #[error("{at}: case index {index} is out of range for {ty}, which has {count} case(s)")]
    CaseIndex {
        at: String,
        ty: String,
        index: u64,
        count: usize,
    },
    #[error("{at}: missing field `{field}`")]
    MissingField { at: String, field: String },
    #[error("{at}: flag `{flag}` is given twice")]
    DuplicateFlag { at: String, flag: String },
    #[error("{at}: case `{case}` {problem}")]
    Payload {
        at: String,
        case: String,
        problem: String,
    },
    #[error("{at}: {ty} cannot cross the wire")]
    Unsupported { at: String, ty: String },
    #[error("{at}: {value} has no JSON form")]
    NoJsonForm { at: String, value: String },
    #[error("{at}: invalid WAVE: {message}")]
    Wave { at: String, message: String },
    #[error("cannot write the {encoding} payload: {reason}")]
    Write {
        encoding: &'static str,
        reason: String,
    },
}

// ---------------------------------------------------------------------------
// Where a value sits, for error messages: a chain on the stack, rendered
// only when an error is reported.
// ---------------------------------------------------------------------------

/// One step of a location: a parameter, field, element, case, flag, …
#[derive(Clone, Copy)]
pub(super) enum Seg<'a> {
    Payload,
    Result,
    Param(usize, &'a str),
    Field(&'a str),
    Index(usize),
    Case(&'a str),
    Flag(&'a str),
    OptionSome,
}

impl Seg<'_> {
    fn describe(&self) -> String {
        match self {
            Seg::Payload => "payload".to_owned(),
            Seg::Result => "result".to_owned(),
            Seg::Param(i, "") => format!("parameter {}", i + 1),
            Seg::Param(i, name) => format!("parameter {} (`{name}`)", i + 1),
            Seg::Field(name) => format!("field `{name}`"),
            Seg::Index(i) => format!("element {i}"),
            Seg::Case(name) => format!("case `{name}`"),
            Seg::Flag(name) => format!("flag `{name}`"),
            Seg::OptionSome => "some".to_owned(),
        }
    }
}

/// A location: `seg` inside `parent`, e.g. "parameter 2 (`b`), element 3".
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    seg: Seg<'a>,
    parent: Option<&'a At<'a>>,
}

impl<'a> At<'a> {
    pub(super) fn root(seg: Seg<'a>) -> Self {
        At { seg, parent: None }
    }

    pub(super) fn param(index: usize, name: &'a str) -> Self {
        At::root(Seg::Param(index, name))
    }

    pub(super) fn child<'b>(&'b self, seg: Seg<'b>) -> At<'b> {
        At {
            seg,
            parent: Some(self),
        }
    }

    pub(super) fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(at) = cur {
            segs.push(at.seg.describe());
            cur = at.parent;
        }
        segs.reverse();
        segs.join(", ")
    }
}

// ---------------------------------------------------------------------------
// Constructors
// ---------------------------------------------------------------------------

pub(super) fn malformed(encoding: &'static str, reason: impl ToString) -> CodecError {
    CodecError::Malformed {
        encoding,
        reason: reason.to_string(),
    }
}

pub(super) fn unsupported(at: &At<'_>, ty: &Type) -> CodecError {
    CodecError::Unsupported {
        at: at.render(),
        ty: type_name(ty),
    }
}

pub(super) fn mismatch(at: &At<'_>, ty: &Type, got: String) -> CodecError {
    CodecError::Mismatch {
        at: at.render(),
        expected: type_name(ty),
        got,
    }
}

pub(super) fn encode_mismatch(at: &At<'_>, ty: &Type, val: &Val) -> CodecError {
    if is_unsupported(ty) {
        return unsupported(at, ty);
    }
    mismatch(at, ty, format!("a {} value", val_kind(val)))
}

pub(super) fn nested_option_mismatch(at: &At<'_>, ty: &Type, got: String) -> CodecError {
    CodecError::Mismatch {
        at: at.render(),
        expected: format!(
            "{} inside an option: an array of zero or one element",
            type_name(ty)
        ),
        got,
    }
}

pub(super) fn out_of_range(at: &At<'_>, ty: &Type, value: String) -> CodecError {
    CodecError::OutOfRange {
        at: at.render(),
        ty: type_name(ty),
        value,
    }
}

pub(super) fn unknown(
    at: &At<'_>,
    what: &'static str,
    name: &str,
    names: impl Iterator<Item = impl AsRef<str>>,
) -> CodecError {
    CodecError::Unknown {
        at: at.render(),
        what,
        name: name.to_owned(),
        known: quoted(names),
    }
}

pub(super) fn case_index_error(at: &At<'_>, ty: &Type, index: u64, count: usize) -> CodecError {
    CodecError::CaseIndex {
        at: at.render(),
        ty: type_name(ty),
        index,
        count,
    }
}

pub(super) fn check_len(
    at: &At<'_>,
    ty: &Type,
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), CodecError> {
    if expected == got {
        return Ok(());
    }
    Err(CodecError::WrongLength {
        at: at.render(),
        ty: type_name(ty),
        what,
        expected,
        got,
    })
}

pub(super) fn payload_error(at: &At<'_>, case: &str, problem: String) -> CodecError {
    CodecError::Payload {
        at: at.render(),
        case: case.to_owned(),
        problem,
    }
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
