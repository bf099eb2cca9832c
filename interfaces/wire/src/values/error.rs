//! [`ValueError`]: why a payload does not fit its type, or a value its type
//! — one vocabulary for every encoding of WIT values (msgpack here; JSON and
//! WAVE in the host's codec) — and the constructors the encodings share.
//! `at` says where: "parameter 2 (`b`), field `x`, element 3", "result", …

use super::path::At;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
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
    /// A Rust type that does not fit the mapping (`to_vec`, `from_slice`).
    #[error("{0}")]
    Serde(String),
}

impl ::serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Serde(msg.to_string())
    }
}

impl ::serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Serde(msg.to_string())
    }
}

pub fn malformed(encoding: &'static str, reason: impl ToString) -> ValueError {
    ValueError::Malformed {
        encoding,
        reason: reason.to_string(),
    }
}

pub fn mismatch(at: &At<'_>, expected: impl Into<String>, got: impl Into<String>) -> ValueError {
    ValueError::Mismatch {
        at: at.render(),
        expected: expected.into(),
        got: got.into(),
    }
}

pub fn unsupported(at: &At<'_>, ty: String) -> ValueError {
    ValueError::Unsupported {
        at: at.render(),
        ty,
    }
}

pub fn out_of_range(at: &At<'_>, ty: String, value: impl ToString) -> ValueError {
    ValueError::OutOfRange {
        at: at.render(),
        ty,
        value: value.to_string(),
    }
}

/// An option directly inside an option that is not `[]` or `[value]`.
pub fn nested_option_mismatch(at: &At<'_>, ty: &str, got: String) -> ValueError {
    mismatch(
        at,
        format!("{ty} inside an option: an array of zero or one element"),
        got,
    )
}

pub fn unknown(
    at: &At<'_>,
    what: &'static str,
    name: &str,
    names: impl Iterator<Item = impl AsRef<str>>,
) -> ValueError {
    ValueError::Unknown {
        at: at.render(),
        what,
        name: name.to_owned(),
        known: quoted(names),
    }
}

pub fn case_index(at: &At<'_>, ty: String, index: u64, count: usize) -> ValueError {
    ValueError::CaseIndex {
        at: at.render(),
        ty,
        index,
        count,
    }
}

/// `expected` == `got`, or a [`ValueError::WrongLength`] naming `what`.
pub fn check_len(
    at: &At<'_>,
    ty: impl FnOnce() -> String,
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), ValueError> {
    if expected == got {
        return Ok(());
    }
    Err(ValueError::WrongLength {
        at: at.render(),
        ty: ty(),
        what,
        expected,
        got,
    })
}

pub fn payload_error(at: &At<'_>, case: &str, problem: String) -> ValueError {
    ValueError::Payload {
        at: at.render(),
        case: case.to_owned(),
        problem,
    }
}

/// Names as a message lists them: `` `a`, `b` ``.
pub fn quoted(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    names
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
