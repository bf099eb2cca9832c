//! Payload codec: the one place the host turns a call's wire payload into
//! wasmtime component values and a function's results back into a payload,
//! driven by the function's own types (`Type`), with no generated code.
//!
//! It owns the value mapping of DESIGN.md "Values across the wire" for the
//! three payload encodings of [`Encoding`]:
//! - **msgpack**, compact and positional: records and tuples are arrays in
//!   declaration order; variants, enums and results carry the case index —
//!   bare without a payload, a one-entry map `{index: payload}` with one
//!   (ok = 0, err = 1); options are nil or the value, except that an option
//!   directly inside an option is an array of zero or one element; flags are
//!   an array of booleans in declaration order; `list<u8>` is bin (an array
//!   of integers is accepted too). Integers are range-checked, never wrapped.
//! - **JSON**, for people: records are objects keyed by field name, variants
//!   `{"case": payload}` or `"case"`, enums `"case"`, results `{"ok": v}` /
//!   `{"err": e}` (or `"ok"` / `"err"`), flags an array of the set names,
//!   options null or the value (an option inside an option: an array of zero
//!   or one element), chars one-character strings, numbers JSON numbers.
//! - **WAVE** text, as `wasmtime run --invoke` writes values.
//!
//! Resources, futures, streams and error-contexts cannot cross the wire; nor
//! can maps, which the mapping does not define yet. They are refused with
//! [`CodecError::Unsupported`], naming the type.
//!
//! Shapes of the API: a function's parameters are `&[(String, Type)]` — what
//! `ComponentFunc::params()` yields, with owned names ([`func_params`]) — and
//! its result types `&[Type]` ([`func_results`]). Encoding takes the types as
//! well as the values: a `Val` names variant cases and set flags but not
//! their positions, which the compact form writes.
//!
//! Payloads are untrusted: nothing here panics on input, and every error is
//! a [`CodecError`] whose message names the parameter, field, element or case
//! at fault and what was expected, e.g.
//! `` parameter 2 (`b`): expected list<u8>, got string ``.

use rmpv::Value as Mp;
use serde_json::Value as Json;
use wasmtime::component::types::{self as wt, ComponentFunc};
use wasmtime::component::wasm_wave::{
    self, ast::Node, parser::ParserError, untyped::UntypedFuncCall,
};
use wasmtime::component::{Type, Val};

/// Floe's payload encodings (`Msgpack`, `Json`, `Wave`): floe-wire's, which
/// the envelope carries, re-exported so callers need one name.
pub use floe_wire::Encoding;

/// Nesting limit for the msgpack reader (an array costs it two levels).
const MSGPACK_MAX_DEPTH: usize = 512;
/// WAVE parameters are parsed as the call `f(<payload>\n)`; the newline
/// keeps a trailing `//` comment from swallowing the closing parenthesis.
const WAVE_CALL_PREFIX: &str = "f(";
const WAVE_CALL_SUFFIX: &str = "\n)";

/// A `result` value as `Val` holds it.
type ResultVal = Result<Option<Box<Val>>, Option<Box<Val>>>;

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
// Public API
// ---------------------------------------------------------------------------

/// A function's parameters as [`decode_params`] and [`encode_params`] take them.
pub fn func_params(func: &ComponentFunc) -> Vec<(String, Type)> {
    func.params()
        .map(|(name, ty)| (name.to_owned(), ty))
        .collect()
}

/// A function's result types (zero or one) as [`encode_results`] takes them.
pub fn func_results(func: &ComponentFunc) -> Vec<Type> {
    func.results().collect()
}

/// Decodes the call's parameters. Msgpack/JSON payload: an array with one
/// element per parameter, in order (for a function without parameters an
/// empty payload, nil or null also do). Wave payload: the parameters as WAVE
/// text separated by commas, as inside `f(a, b)` (e.g. `"hello", [1, 2]`);
/// trailing option parameters may be left out, as WAVE allows; an empty
/// payload means no parameters.
pub fn decode_params(
    encoding: Encoding,
    payload: &[u8],
    params: &[(String, Type)],
) -> Result<Vec<Val>, CodecError> {
    match encoding {
        Encoding::Msgpack => {
            if params.is_empty() && payload.is_empty() {
                return Ok(Vec::new());
            }
            match read_msgpack(payload)? {
                Mp::Array(items) => zip_params(params, &items, mp_to_val),
                Mp::Nil if params.is_empty() => Ok(Vec::new()),
                other => Err(params_shape(params.len(), mp_desc(&other))),
            }
        }
        Encoding::Json => {
            if params.is_empty() && is_blank(payload) {
                return Ok(Vec::new());
            }
            match read_json(payload)? {
                Json::Array(items) => zip_params(params, &items, json_to_val),
                Json::Null if params.is_empty() => Ok(Vec::new()),
                other => Err(params_shape(params.len(), json_desc(&other))),
            }
        }
        Encoding::Wave => decode_params_wave(payload, params),
    }
}

/// Encodes the function's results (0 or 1 values in the component model)
/// of the given result types: msgpack nil / JSON null / empty WAVE for
/// none, else the single value itself (not wrapped in an array).
pub fn encode_results(
    encoding: Encoding,
    results: &[Val],
    types: &[Type],
) -> Result<Vec<u8>, CodecError> {
    match (results, types) {
        ([], []) => Ok(match encoding {
            Encoding::Msgpack => vec![0xc0],
            Encoding::Json => b"null".to_vec(),
            Encoding::Wave => Vec::new(),
        }),
        ([val], [ty]) => encode_value(encoding, val, ty, &At::root(Seg::Result)),
        _ => Err(CodecError::ResultCount {
            expected: types.len(),
            got: results.len(),
        }),
    }
}

/// Encodes call parameters as [`decode_params`] reads them (for clients and
/// tests): an array for msgpack and JSON, comma-separated text for WAVE.
pub fn encode_params(
    encoding: Encoding,
    values: &[Val],
    params: &[(String, Type)],
) -> Result<Vec<u8>, CodecError> {
    check_param_count(params.len(), values.len())?;
    let pairs = values.iter().zip(params).enumerate();
    match encoding {
        Encoding::Msgpack => {
            let items = pairs
                .map(|(i, (val, (name, ty)))| val_to_mp(val, ty, &At::param(i, name)))
                .collect::<Result<Vec<_>, CodecError>>()?;
            write_msgpack(&Mp::Array(items))
        }
        Encoding::Json => {
            let items = pairs
                .map(|(i, (val, (name, ty)))| val_to_json(val, ty, &At::param(i, name)))
                .collect::<Result<Vec<_>, CodecError>>()?;
            write_json(&Json::Array(items))
        }
        Encoding::Wave => {
            let texts = pairs
                .map(|(i, (val, (name, ty)))| wave_text(val, ty, &At::param(i, name)))
                .collect::<Result<Vec<_>, CodecError>>()?;
            Ok(texts.join(", ").into_bytes())
        }
    }
}

/// Encodes call parameters as a msgpack array (see [`encode_params`]).
pub fn encode_values_msgpack(
    values: &[Val],
    params: &[(String, Type)],
) -> Result<Vec<u8>, CodecError> {
    encode_params(Encoding::Msgpack, values, params)
}

/// Decodes a reply written by [`encode_results`]: `ty` is the function's
/// result type, `None` when it has none (then the payload must say so).
pub fn decode_result(
    encoding: Encoding,
    payload: &[u8],
    ty: Option<&Type>,
) -> Result<Option<Val>, CodecError> {
    let at = At::root(Seg::Result);
    let Some(ty) = ty else {
        return expect_no_result(encoding, payload, &at).map(|()| None);
    };
    let val = match encoding {
        Encoding::Msgpack => mp_to_val(&read_msgpack(payload)?, ty, &at)?,
        Encoding::Json => json_to_val(&read_json(payload)?, ty, &at)?,
        Encoding::Wave => {
            check_wire_type(ty, &at)?;
            let text = utf8(payload)?;
            wasm_wave::from_str::<Val>(ty, text).map_err(|e| wave_error(&at, &e, text, 0))?
        }
    };
    Ok(Some(val))
}

// ---------------------------------------------------------------------------
// Shared plumbing
// ---------------------------------------------------------------------------

fn encode_value(
    encoding: Encoding,
    val: &Val,
    ty: &Type,
    at: &At<'_>,
) -> Result<Vec<u8>, CodecError> {
    match encoding {
        Encoding::Msgpack => write_msgpack(&val_to_mp(val, ty, at)?),
        Encoding::Json => write_json(&val_to_json(val, ty, at)?),
        Encoding::Wave => wave_text(val, ty, at).map(String::into_bytes),
    }
}

fn expect_no_result(encoding: Encoding, payload: &[u8], at: &At<'_>) -> Result<(), CodecError> {
    let got = match encoding {
        Encoding::Msgpack if payload.is_empty() => return Ok(()),
        Encoding::Msgpack => match read_msgpack(payload)? {
            Mp::Nil => return Ok(()),
            other => mp_desc(&other),
        },
        Encoding::Json if is_blank(payload) => return Ok(()),
        Encoding::Json => match read_json(payload)? {
            Json::Null => return Ok(()),
            other => json_desc(&other),
        },
        Encoding::Wave if is_blank(payload) => return Ok(()),
        Encoding::Wave => format!("{} bytes of WAVE text", payload.len()),
    };
    Err(CodecError::Mismatch {
        at: at.render(),
        expected: "no value (the function has no result)".to_owned(),
        got,
    })
}

fn zip_params<T>(
    params: &[(String, Type)],
    items: &[T],
    decode: impl Fn(&T, &Type, &At<'_>) -> Result<Val, CodecError>,
) -> Result<Vec<Val>, CodecError> {
    check_param_count(params.len(), items.len())?;
    params
        .iter()
        .zip(items)
        .enumerate()
        .map(|(i, ((name, ty), item))| decode(item, ty, &At::param(i, name)))
        .collect()
}

fn check_param_count(expected: usize, got: usize) -> Result<(), CodecError> {
    if expected == got {
        Ok(())
    } else {
        Err(CodecError::ParamCount { expected, got })
    }
}

fn params_shape(count: usize, got: String) -> CodecError {
    CodecError::Mismatch {
        at: At::root(Seg::Payload).render(),
        expected: format!("an array of {count} parameter(s)"),
        got,
    }
}

fn read_msgpack(payload: &[u8]) -> Result<Mp, CodecError> {
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

fn write_msgpack(value: &Mp) -> Result<Vec<u8>, CodecError> {
    let mut buf = Vec::new();
    rmpv::encode::write_value(&mut buf, value).map_err(|e| CodecError::Write {
        encoding: "msgpack",
        reason: e.to_string(),
    })?;
    Ok(buf)
}

fn read_json(payload: &[u8]) -> Result<Json, CodecError> {
    serde_json::from_slice(payload).map_err(|e| malformed("JSON", e))
}

fn write_json(value: &Json) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(value).map_err(|e| CodecError::Write {
        encoding: "JSON",
        reason: e.to_string(),
    })
}

fn utf8(payload: &[u8]) -> Result<&str, CodecError> {
    std::str::from_utf8(payload).map_err(|e| malformed("WAVE", e))
}

fn is_blank(payload: &[u8]) -> bool {
    payload.iter().all(u8::is_ascii_whitespace)
}

fn malformed(encoding: &'static str, reason: impl ToString) -> CodecError {
    CodecError::Malformed {
        encoding,
        reason: reason.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Where a value sits, for error messages: a chain on the stack, rendered
// only when an error is reported.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Seg<'a> {
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

#[derive(Clone, Copy)]
struct At<'a> {
    seg: Seg<'a>,
    parent: Option<&'a At<'a>>,
}

impl<'a> At<'a> {
    fn root(seg: Seg<'a>) -> Self {
        At { seg, parent: None }
    }

    fn param(index: usize, name: &'a str) -> Self {
        At::root(Seg::Param(index, name))
    }

    fn child<'b>(&'b self, seg: Seg<'b>) -> At<'b> {
        At {
            seg,
            parent: Some(self),
        }
    }

    fn render(&self) -> String {
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
// Type names and error helpers
// ---------------------------------------------------------------------------

/// The type in WIT-like text: `list<u8>`, `record { a: u32, b: string }`, …
fn type_name(ty: &Type) -> String {
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

fn val_kind(val: &Val) -> &'static str {
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

fn quoted(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    join(names.map(|n| format!("`{}`", n.as_ref())))
}

fn is_unsupported(ty: &Type) -> bool {
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

fn unsupported(at: &At<'_>, ty: &Type) -> CodecError {
    CodecError::Unsupported {
        at: at.render(),
        ty: type_name(ty),
    }
}

fn mismatch(at: &At<'_>, ty: &Type, got: String) -> CodecError {
    CodecError::Mismatch {
        at: at.render(),
        expected: type_name(ty),
        got,
    }
}

fn encode_mismatch(at: &At<'_>, ty: &Type, val: &Val) -> CodecError {
    if is_unsupported(ty) {
        return unsupported(at, ty);
    }
    mismatch(at, ty, format!("a {} value", val_kind(val)))
}

fn nested_option_mismatch(at: &At<'_>, ty: &Type, got: String) -> CodecError {
    CodecError::Mismatch {
        at: at.render(),
        expected: format!(
            "{} inside an option: an array of zero or one element",
            type_name(ty)
        ),
        got,
    }
}

fn out_of_range(at: &At<'_>, ty: &Type, value: String) -> CodecError {
    CodecError::OutOfRange {
        at: at.render(),
        ty: type_name(ty),
        value,
    }
}

fn unknown(
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

fn case_index_error(at: &At<'_>, ty: &Type, index: u64, count: usize) -> CodecError {
    CodecError::CaseIndex {
        at: at.render(),
        ty: type_name(ty),
        index,
        count,
    }
}

fn check_len(
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

/// Refuses types that cannot cross the wire, wherever they are nested.
fn check_wire_type(ty: &Type, at: &At<'_>) -> Result<(), CodecError> {
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

// ---------------------------------------------------------------------------
// Scalars shared by msgpack and JSON
// ---------------------------------------------------------------------------

/// An integer of an integer type, refusing values out of its range.
fn int_to_val(n: i128, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    let val = match ty {
        Type::S8 => i8::try_from(n).ok().map(Val::S8),
        Type::U8 => u8::try_from(n).ok().map(Val::U8),
        Type::S16 => i16::try_from(n).ok().map(Val::S16),
        Type::U16 => u16::try_from(n).ok().map(Val::U16),
        Type::S32 => i32::try_from(n).ok().map(Val::S32),
        Type::U32 => u32::try_from(n).ok().map(Val::U32),
        Type::S64 => i64::try_from(n).ok().map(Val::S64),
        Type::U64 => u64::try_from(n).ok().map(Val::U64),
        _ => return Err(mismatch(at, ty, format!("integer {n}"))),
    };
    val.ok_or_else(|| out_of_range(at, ty, n.to_string()))
}

/// A float of a float type; a finite value beyond f32's range is refused.
fn float_to_val(x: f64, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    match ty {
        Type::Float64 => Ok(Val::Float64(x)),
        Type::Float32 if x.is_finite() && (x as f32).is_infinite() => {
            Err(out_of_range(at, ty, x.to_string()))
        }
        Type::Float32 => Ok(Val::Float32(x as f32)),
        _ => Err(mismatch(at, ty, format!("number {x}"))),
    }
}

fn one_char(s: &str, at: &At<'_>) -> Result<Val, CodecError> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(Val::Char(c)),
        _ => Err(CodecError::Mismatch {
            at: at.render(),
            expected: "char (a string of exactly one character)".to_owned(),
            got: format!("a string of {} characters", s.chars().count()),
        }),
    }
}

/// Maps a case payload, present exactly when the case declares one.
fn map_payload<P, T>(
    case: &str,
    ty: Option<&Type>,
    payload: Option<P>,
    at: &At<'_>,
    map: impl FnOnce(P, &Type, &At<'_>) -> Result<T, CodecError>,
) -> Result<Option<T>, CodecError> {
    match (ty, payload) {
        (None, None) => Ok(None),
        (Some(ty), Some(p)) => map(p, ty, &at.child(Seg::Case(case))).map(Some),
        (Some(ty), None) => Err(payload_error(
            at,
            case,
            format!("needs a payload of type {}", type_name(ty)),
        )),
        (None, Some(_)) => Err(payload_error(at, case, "takes no payload".to_owned())),
    }
}

/// [`map_payload`] for decoding, boxed as `Val` holds payloads.
fn decode_payload<P>(
    case: &str,
    ty: Option<&Type>,
    payload: Option<P>,
    at: &At<'_>,
    decode: impl FnOnce(P, &Type, &At<'_>) -> Result<Val, CodecError>,
) -> Result<Option<Box<Val>>, CodecError> {
    Ok(map_payload(case, ty, payload, at, decode)?.map(Box::new))
}

fn payload_error(at: &At<'_>, case: &str, problem: String) -> CodecError {
    CodecError::Payload {
        at: at.render(),
        case: case.to_owned(),
        problem,
    }
}

// ---------------------------------------------------------------------------
// msgpack → Val
// ---------------------------------------------------------------------------

fn mp_desc(v: &Mp) -> String {
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

fn mp_to_val(v: &Mp, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
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

fn val_to_mp(val: &Val, ty: &Type, at: &At<'_>) -> Result<Mp, CodecError> {
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

/// A record's field values in declaration order, looked up by name.
fn encode_record<T>(
    fields: &[(String, Val)],
    r: &wt::Record,
    ty: &Type,
    at: &At<'_>,
    encode: impl Fn(&Val, &Type, &At<'_>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    check_len(at, ty, "fields", r.fields().len(), fields.len())?;
    r.fields()
        .map(|f| {
            let (_, val) = fields
                .iter()
                .find(|(name, _)| name == f.name)
                .ok_or_else(|| CodecError::MissingField {
                    at: at.render(),
                    field: f.name.to_owned(),
                })?;
            encode(val, &f.ty, &at.child(Seg::Field(f.name)))
        })
        .collect()
}

fn encode_tuple<T>(
    items: &[Val],
    t: &wt::Tuple,
    ty: &Type,
    at: &At<'_>,
    encode: impl Fn(&Val, &Type, &At<'_>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    check_len(at, ty, "elements", t.types().len(), items.len())?;
    t.types()
        .zip(items)
        .enumerate()
        .map(|(i, (elem, item))| encode(item, &elem, &at.child(Seg::Index(i))))
        .collect()
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

fn enum_index(e: &wt::Enum, name: &str, at: &At<'_>) -> Result<usize, CodecError> {
    e.names()
        .position(|n| n == name)
        .ok_or_else(|| unknown(at, "case", name, e.names()))
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

/// One boolean per declared flag, refusing names the type does not declare.
fn flag_bits(f: &wt::Flags, set: &[String], at: &At<'_>) -> Result<Vec<bool>, CodecError> {
    if let Some(bad) = set.iter().find(|s| !f.names().any(|n| n == s.as_str())) {
        return Err(unknown(at, "flag", bad, f.names()));
    }
    Ok(f.names().map(|n| set.iter().any(|s| s == n)).collect())
}

// ---------------------------------------------------------------------------
// JSON → Val
// ---------------------------------------------------------------------------

fn json_desc(v: &Json) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => format!("bool {b}"),
        Json::Number(n) => format!("number {n}"),
        Json::String(_) => "string".to_owned(),
        Json::Array(a) => format!("array of {}", a.len()),
        Json::Object(o) => format!("object with {} key(s)", o.len()),
    }
}

fn json_to_val(v: &Json, ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
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

/// `nested`: see [`mp_option`].
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
    Ok(Val::Flags(
        f.names()
            .filter(|n| set.contains(n))
            .map(str::to_owned)
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// Val → JSON
// ---------------------------------------------------------------------------

fn val_to_json(val: &Val, ty: &Type, at: &At<'_>) -> Result<Json, CodecError> {
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

/// `nested`: see [`mp_option`].
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

// ---------------------------------------------------------------------------
// WAVE
// ---------------------------------------------------------------------------

fn decode_params_wave(payload: &[u8], params: &[(String, Type)]) -> Result<Vec<Val>, CodecError> {
    let text = utf8(payload)?;
    for (i, (name, ty)) in params.iter().enumerate() {
        check_wire_type(ty, &At::param(i, name))?;
    }
    let source = format!("{WAVE_CALL_PREFIX}{text}{WAVE_CALL_SUFFIX}");
    let offset = WAVE_CALL_PREFIX.len();
    let root = At::root(Seg::Payload);
    let call =
        UntypedFuncCall::parse(&source).map_err(|e| wave_error(&root, &e, &source, offset))?;
    let nodes: Vec<&Node> = match call.params_node() {
        Some(node) => node
            .as_tuple()
            .map_err(|e| wave_error(&root, &e, &source, offset))?
            .collect(),
        None => Vec::new(),
    };
    if nodes.len() > params.len() {
        return Err(CodecError::ParamCount {
            expected: params.len(),
            got: nodes.len(),
        });
    }
    params
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| match nodes.get(i) {
            Some(node) => node
                .to_wasm_value::<Val>(ty, call.source())
                .map_err(|e| wave_error(&At::param(i, name), &e, &source, offset)),
            // As in a WAVE call, trailing option parameters may be left out.
            None if matches!(ty, Type::Option(_)) => Ok(Val::Option(None)),
            None => Err(CodecError::ParamCount {
                expected: params.len(),
                got: nodes.len(),
            }),
        })
        .collect()
}

/// WAVE text of one value; refuses what the WAVE writer cannot write.
fn wave_text(val: &Val, ty: &Type, at: &At<'_>) -> Result<String, CodecError> {
    check_wire_type(ty, at)?;
    check_wave_value(val, at)?;
    wasm_wave::to_string(val).map_err(|e| CodecError::Write {
        encoding: "WAVE",
        reason: e.to_string(),
    })
}

/// The WAVE writer panics on values it has no syntax for; find them first.
fn check_wave_value(val: &Val, at: &At<'_>) -> Result<(), CodecError> {
    match val {
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) | Val::Map(_) => {
            Err(CodecError::Unsupported {
                at: at.render(),
                ty: val_kind(val).to_owned(),
            })
        }
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            items.iter().try_for_each(|item| check_wave_value(item, at))
        }
        Val::Record(fields) => fields
            .iter()
            .try_for_each(|(_, item)| check_wave_value(item, at)),
        Val::Variant(_, Some(p))
        | Val::Option(Some(p))
        | Val::Result(Ok(Some(p)) | Err(Some(p))) => check_wave_value(p, at),
        _ => Ok(()),
    }
}

/// A WAVE parse error with its position in the caller's text (`offset`:
/// bytes the codec put before it) and the text near it.
fn wave_error(at: &At<'_>, err: &ParserError, source: &str, offset: usize) -> CodecError {
    let span = err.span();
    let near: String = source
        .get(span.clone())
        .unwrap_or_default()
        .chars()
        .take(40)
        .collect();
    let detail = err
        .detail()
        .map(str::to_owned)
        .or_else(|| std::error::Error::source(err).map(ToString::to_string));
    let mut message = err.kind().to_string();
    if let Some(detail) = detail {
        message = format!("{message}: {detail}");
    }
    let message = format!(
        "{message} at byte {} (near `{}`)",
        span.start.saturating_sub(offset),
        near.trim()
    );
    CodecError::Wave {
        at: at.render(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasmtime::Engine;
    use wasmtime::component::Component;
    use wasmtime::component::types::ComponentItem;

    /// One imported function whose parameters cover the mapping. Named types
    /// (record, variant, enum, flags) must be imported to appear in an
    /// imported function's signature, hence the `(eq …)` imports.
    const TYPES_WAT: &str = r#"
(component
  (type $rec-def (record (field "a" u32) (field "b" string)))
  (import "rec" (type $rec (eq $rec-def)))
  (type $var-def (variant (case "empty") (case "byte" u8) (case "text" string)))
  (import "var" (type $var (eq $var-def)))
  (type $color-def (enum "red" "green" "blue"))
  (import "color" (type $color (eq $color-def)))
  (type $perms-def (flags "read" "write" "exec"))
  (import "perms" (type $perms (eq $perms-def)))
  (type $fn (func
    (param "r" $rec) (param "v" $var) (param "e" $color) (param "f" $perms)
    (param "oo" (option (option u32))) (param "res" (result string (error u8)))
    (param "bytes" (list u8)) (param "t" (tuple u32 string bool))
    (param "c" char) (param "small" s8) (param "x" float64) (param "ratio" float32)
    (result (result string (error u8)))))
  (import "f" (func (type $fn)))
)
"#;

    const RESOURCE_WAT: &str = r#"
(component
  (import "thing" (type $thing (sub resource)))
  (import "g" (func (param "h" (own $thing))))
)
"#;

    const SMALL: usize = 9;

    struct Sig {
        params: Vec<(String, Type)>,
        results: Vec<Type>,
    }

    fn signature(wat_text: &str, name: &str) -> Sig {
        let engine = Engine::default();
        let bytes = wat::parse_str(wat_text).expect("component text parses");
        let component = Component::new(&engine, bytes).expect("component compiles");
        let ty = component.component_type();
        let import = ty.get_import(&engine, name).expect("the import exists");
        let ComponentItem::ComponentFunc(func) = import.ty else {
            panic!("`{name}` is not a function");
        };
        Sig {
            params: func_params(&func),
            results: func_results(&func),
        }
    }

    fn param_type(sig: &Sig, name: &str) -> Type {
        sig.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .expect("parameter exists")
    }

    fn boxed(v: Val) -> Option<Box<Val>> {
        Some(Box::new(v))
    }

    fn string(s: &str) -> Val {
        Val::String(s.to_owned())
    }

    fn record(a: u32, b: &str) -> Val {
        Val::Record(vec![
            ("a".to_owned(), Val::U32(a)),
            ("b".to_owned(), string(b)),
        ])
    }

    fn flags(names: &[&str]) -> Val {
        Val::Flags(names.iter().map(|n| (*n).to_owned()).collect())
    }

    fn sample() -> Vec<Val> {
        vec![
            record(1, "x"),
            Val::Variant("byte".to_owned(), boxed(Val::U8(7))),
            Val::Enum("green".to_owned()),
            flags(&["read", "exec"]),
            Val::Option(boxed(Val::Option(None))),
            Val::Result(Ok(boxed(string("hi")))),
            Val::List(vec![Val::U8(1), Val::U8(2)]),
            Val::Tuple(vec![Val::U32(3), string("s"), Val::Bool(true)]),
            Val::Char('é'),
            Val::S8(-128),
            Val::Float64(1.5),
            Val::Float32(0.1),
        ]
    }

    fn all_samples() -> Vec<Vec<Val>> {
        vec![
            sample(),
            vec![
                record(u32::MAX, ""),
                Val::Variant("empty".to_owned(), None),
                Val::Enum("blue".to_owned()),
                flags(&[]),
                Val::Option(None),
                Val::Result(Err(boxed(Val::U8(3)))),
                Val::List(Vec::new()),
                Val::Tuple(vec![Val::U32(0), string("\"quoted\"\n"), Val::Bool(false)]),
                Val::Char('\''),
                Val::S8(127),
                Val::Float64(-0.25),
                Val::Float32(f32::MAX),
            ],
            vec![
                record(0, "ünï"),
                Val::Variant("text".to_owned(), boxed(string("t"))),
                Val::Enum("red".to_owned()),
                flags(&["read", "write", "exec"]),
                Val::Option(boxed(Val::Option(boxed(Val::U32(5))))),
                Val::Result(Ok(boxed(string("")))),
                Val::List(vec![Val::U8(0), Val::U8(255)]),
                Val::Tuple(vec![Val::U32(7), string("s"), Val::Bool(true)]),
                Val::Char('🦀'),
                Val::S8(0),
                Val::Float64(1e300),
                Val::Float32(-1.5e-7),
            ],
        ]
    }

    /// The sample's msgpack parameters with element `index` replaced, decoded.
    fn decode_with(sig: &Sig, index: usize, value: Mp) -> Result<Vec<Val>, CodecError> {
        let bytes = encode_values_msgpack(&sample(), &sig.params).unwrap();
        let Mp::Array(mut items) = read_msgpack(&bytes).unwrap() else {
            panic!("parameters are not an array");
        };
        items[index] = value;
        decode_params(
            Encoding::Msgpack,
            &write_msgpack(&Mp::Array(items)).unwrap(),
            &sig.params,
        )
    }

    /// The sample's JSON parameters with element `index` replaced, decoded.
    fn json_with(sig: &Sig, index: usize, value: Json) -> Result<Vec<Val>, CodecError> {
        let bytes = encode_params(Encoding::Json, &sample(), &sig.params).unwrap();
        let mut items: Vec<Json> = serde_json::from_slice(&bytes).unwrap();
        items[index] = value;
        decode_params(
            Encoding::Json,
            &serde_json::to_vec(&items).unwrap(),
            &sig.params,
        )
    }

    #[test]
    fn every_encoding_round_trips() {
        let sig = signature(TYPES_WAT, "f");
        for encoding in [Encoding::Msgpack, Encoding::Json, Encoding::Wave] {
            for values in all_samples() {
                let bytes = encode_params(encoding, &values, &sig.params).unwrap();
                let back = decode_params(encoding, &bytes, &sig.params).unwrap_or_else(|e| {
                    panic!("{encoding:?}: {e}: {}", String::from_utf8_lossy(&bytes))
                });
                assert_eq!(back, values, "{encoding:?}");
            }
        }
    }

    #[test]
    fn json_form_uses_names() {
        let sig = signature(TYPES_WAT, "f");
        let bytes = encode_params(Encoding::Json, &sample(), &sig.params).unwrap();
        let expected = r#"[{"a":1,"b":"x"},{"byte":7},"green",["read","exec"],[],{"ok":"hi"},[1,2],[3,"s",true],"é",-128,1.5,0.1]"#;
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn wave_form_is_call_arguments() {
        let sig = signature(TYPES_WAT, "f");
        let text = encode_params(Encoding::Wave, &sample(), &sig.params).unwrap();
        let expected = r#"{a: 1, b: "x"}, byte(7), green, {read, exec}, some(none), ok("hi"), [1, 2], (3, "s", true), 'é', -128, 1.5, 0.1"#;
        assert_eq!(String::from_utf8(text).unwrap(), expected);
        assert!(decode_params(Encoding::Wave, b"", &[]).unwrap().is_empty());
        assert!(matches!(
            decode_params(Encoding::Wave, b" ", &sig.params),
            Err(CodecError::ParamCount {
                expected: 12,
                got: 0
            })
        ));
        let bad = expected.replace("byte(7)", "bite(7)");
        let err = decode_params(Encoding::Wave, bad.as_bytes(), &sig.params).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("parameter 2 (`v`): invalid WAVE"),
            "{err}"
        );
        let extra = format!("{expected}, 1");
        assert!(matches!(
            decode_params(Encoding::Wave, extra.as_bytes(), &sig.params),
            Err(CodecError::ParamCount {
                expected: 12,
                got: 13
            })
        ));
    }

    #[test]
    fn msgpack_bytes_are_compact() {
        let sig = signature(TYPES_WAT, "f");
        let cases: &[(&str, Val, &[u8])] = &[
            (
                "v",
                Val::Variant("byte".to_owned(), boxed(Val::U8(7))),
                &[0x81, 0x01, 0x07],
            ),
            ("v", Val::Variant("empty".to_owned(), None), &[0x00]),
            ("oo", Val::Option(boxed(Val::Option(None))), &[0x90]),
            ("oo", Val::Option(None), &[0xc0]),
            (
                "oo",
                Val::Option(boxed(Val::Option(boxed(Val::U32(5))))),
                &[0x91, 0x05],
            ),
            (
                "bytes",
                Val::List(vec![Val::U8(1), Val::U8(2)]),
                &[0xc4, 0x02, 0x01, 0x02],
            ),
            ("e", Val::Enum("green".to_owned()), &[0x01]),
            ("f", flags(&["read", "exec"]), &[0x93, 0xc3, 0xc2, 0xc3]),
            (
                "res",
                Val::Result(Ok(boxed(string("hi")))),
                &[0x81, 0x00, 0xa2, b'h', b'i'],
            ),
            (
                "res",
                Val::Result(Err(boxed(Val::U8(3)))),
                &[0x81, 0x01, 0x03],
            ),
            ("r", record(1, "x"), &[0x92, 0x01, 0xa1, b'x']),
            (
                "t",
                Val::Tuple(vec![Val::U32(1), string(""), Val::Bool(true)]),
                &[0x93, 0x01, 0xa0, 0xc3],
            ),
            ("c", Val::Char('x'), &[0xa1, b'x']),
            ("small", Val::S8(-1), &[0xff]),
        ];
        let at = At::root(Seg::Result);
        for (param, val, bytes) in cases {
            let ty = param_type(&sig, param);
            let written = write_msgpack(&val_to_mp(val, &ty, &at).unwrap()).unwrap();
            assert_eq!(written, *bytes, "{param}: {val:?}");
            assert_eq!(
                mp_to_val(&read_msgpack(bytes).unwrap(), &ty, &at).unwrap(),
                *val,
                "{param}"
            );
        }
    }

    #[test]
    fn results_are_the_value_itself() {
        let sig = signature(TYPES_WAT, "f");
        let ok = Val::Result(Ok(boxed(string("hi"))));
        let one = std::slice::from_ref(&ok);
        assert_eq!(
            encode_results(Encoding::Msgpack, one, &sig.results).unwrap(),
            [0x81, 0x00, 0xa2, b'h', b'i']
        );
        assert_eq!(
            encode_results(Encoding::Json, one, &sig.results).unwrap(),
            br#"{"ok":"hi"}"#
        );
        assert_eq!(
            encode_results(Encoding::Wave, one, &sig.results).unwrap(),
            br#"ok("hi")"#
        );
        for encoding in [Encoding::Msgpack, Encoding::Json, Encoding::Wave] {
            let bytes = encode_results(encoding, one, &sig.results).unwrap();
            assert_eq!(
                decode_result(encoding, &bytes, sig.results.first()).unwrap(),
                Some(ok.clone())
            );
            let none = encode_results(encoding, &[], &[]).unwrap();
            assert_eq!(decode_result(encoding, &none, None).unwrap(), None);
        }
        assert_eq!(encode_results(Encoding::Msgpack, &[], &[]).unwrap(), [0xc0]);
        assert_eq!(encode_results(Encoding::Json, &[], &[]).unwrap(), b"null");
        assert!(encode_results(Encoding::Wave, &[], &[]).unwrap().is_empty());
        assert!(matches!(
            encode_results(Encoding::Msgpack, &[], &sig.results),
            Err(CodecError::ResultCount {
                expected: 1,
                got: 0
            })
        ));
        assert!(matches!(
            decode_result(Encoding::Msgpack, &[0x01], None),
            Err(CodecError::Mismatch { .. })
        ));
        let err_without_payload = Val::Result(Err(None));
        assert!(matches!(
            encode_results(Encoding::Msgpack, &[err_without_payload], &sig.results),
            Err(CodecError::Payload { .. })
        ));
    }

    #[test]
    fn integers_out_of_range_are_refused() {
        let sig = signature(TYPES_WAT, "f");
        for (n, fits) in [(127_i64, true), (-128, true), (128, false), (-129, false)] {
            assert_eq!(decode_with(&sig, SMALL, Mp::from(n)).is_ok(), fits, "{n}");
        }
        let err = decode_with(&sig, SMALL, Mp::from(128_i64)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter 10 (`small`): 128 is out of range for s8"
        );
        let err =
            decode_with(&sig, 0, Mp::Array(vec![Mp::from(-1_i64), Mp::from("x")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter 1 (`r`), field `a`: -1 is out of range for u32"
        );
        let err =
            decode_with(&sig, 6, Mp::Array(vec![Mp::from(1_i64), Mp::from(256_i64)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter 7 (`bytes`), element 1: 256 is out of range for u8"
        );
        assert!(matches!(
            json_with(&sig, SMALL, json!(200)),
            Err(CodecError::OutOfRange { .. })
        ));
        assert!(matches!(
            json_with(&sig, SMALL, json!(1.5)),
            Err(CodecError::Mismatch { .. })
        ));
        assert!(matches!(
            json_with(&sig, 11, json!(1e39)),
            Err(CodecError::OutOfRange { .. })
        ));
        assert!(matches!(
            decode_with(&sig, 11, Mp::F64(1e39)),
            Err(CodecError::OutOfRange { .. })
        ));
    }

    #[test]
    fn shapes_are_checked() {
        let sig = signature(TYPES_WAT, "f");
        let err = decode_with(&sig, 0, Mp::Array(vec![Mp::from(1_i64)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter 1 (`r`): record { a: u32, b: string } has 2 fields, got 1"
        );
        let err = decode_with(&sig, 6, Mp::from("no")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter 7 (`bytes`): expected list<u8>, got string"
        );
        let wrong = [
            (7, Mp::Array(vec![Mp::from(1_i64)])),
            (3, Mp::Array(vec![Mp::Boolean(true)])),
        ];
        for (index, value) in wrong {
            assert!(matches!(
                decode_with(&sig, index, value),
                Err(CodecError::WrongLength { .. })
            ));
        }
        assert!(matches!(
            decode_with(&sig, 1, Mp::from(9_i64)),
            Err(CodecError::CaseIndex { index: 9, .. })
        ));
        assert!(matches!(
            decode_with(&sig, 1, Mp::from(1_i64)),
            Err(CodecError::Payload { .. })
        ));
        let empty_with_payload = Mp::Map(vec![(Mp::from(0_i64), Mp::Nil)]);
        assert!(matches!(
            decode_with(&sig, 1, empty_with_payload),
            Err(CodecError::Payload { .. })
        ));
        let two = Mp::Array(vec![Mp::from(1_i64), Mp::from(2_i64)]);
        assert!(matches!(
            decode_with(&sig, 4, two),
            Err(CodecError::Mismatch { .. })
        ));
        assert!(matches!(
            decode_with(&sig, 4, Mp::from(5_i64)),
            Err(CodecError::Mismatch { .. })
        ));
        assert!(matches!(
            decode_with(&sig, 8, Mp::from("ab")),
            Err(CodecError::Mismatch { .. })
        ));
        assert!(matches!(
            decode_with(&sig, 5, Mp::from(2_i64)),
            Err(CodecError::CaseIndex { .. })
        ));
        let short = encode_values_msgpack(&sample()[..11], &sig.params[..11]).unwrap();
        assert!(matches!(
            decode_params(Encoding::Msgpack, &short, &sig.params),
            Err(CodecError::ParamCount {
                expected: 12,
                got: 11
            })
        ));
    }

    #[test]
    fn list_u8_also_reads_an_array() {
        let sig = signature(TYPES_WAT, "f");
        let array = Mp::Array(vec![Mp::from(1_i64), Mp::from(2_i64)]);
        assert_eq!(decode_with(&sig, 6, array).unwrap(), sample());
        assert_eq!(decode_with(&sig, 11, Mp::F64(0.1)).unwrap(), sample());
    }

    #[test]
    fn json_names_are_checked() {
        let sig = signature(TYPES_WAT, "f");
        let err = json_with(&sig, 1, json!({"bite": 7})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter 2 (`v`): unknown case `bite` (expected one of `empty`, `byte`, `text`)"
        );
        let extra_field = json!({"a": 1, "b": "x", "c": 2});
        assert!(matches!(
            json_with(&sig, 0, extra_field),
            Err(CodecError::Unknown { what: "field", .. })
        ));
        let err = json_with(&sig, 0, json!({"a": 1})).unwrap_err();
        assert_eq!(err.to_string(), "parameter 1 (`r`): missing field `b`");
        assert!(matches!(
            json_with(&sig, 2, json!("purple")),
            Err(CodecError::Unknown { what: "case", .. })
        ));
        assert!(matches!(
            json_with(&sig, 3, json!(["read", "fly"])),
            Err(CodecError::Unknown { what: "flag", .. })
        ));
        assert!(matches!(
            json_with(&sig, 3, json!(["read", "read"])),
            Err(CodecError::DuplicateFlag { .. })
        ));
        assert!(matches!(
            json_with(&sig, 5, json!({"maybe": "x"})),
            Err(CodecError::Unknown { .. })
        ));
        assert!(matches!(
            json_with(&sig, 5, json!("ok")),
            Err(CodecError::Payload { .. })
        ));
        assert!(matches!(
            json_with(&sig, 8, json!("ab")),
            Err(CodecError::Mismatch { .. })
        ));
        assert!(matches!(
            json_with(&sig, 4, json!(5)),
            Err(CodecError::Mismatch { .. })
        ));
        let some_some = Val::Option(boxed(Val::Option(boxed(Val::U32(5)))));
        assert_eq!(json_with(&sig, 4, json!([5])).unwrap()[4], some_some);
        assert_eq!(
            json_with(&sig, 4, json!(null)).unwrap()[4],
            Val::Option(None)
        );
        assert_eq!(
            json_with(&sig, 1, json!("empty")).unwrap()[1],
            Val::Variant("empty".to_owned(), None)
        );
        let flags_any_order = json_with(&sig, 3, json!(["exec", "read"])).unwrap();
        assert_eq!(flags_any_order[3], flags(&["read", "exec"]));
    }

    #[test]
    fn resources_cannot_cross_the_wire() {
        let sig = signature(RESOURCE_WAT, "g");
        let payloads: [(Encoding, &[u8]); 3] = [
            (Encoding::Msgpack, &[0x91, 0x00]),
            (Encoding::Json, b"[0]"),
            (Encoding::Wave, b"0"),
        ];
        for (encoding, payload) in payloads {
            let err = decode_params(encoding, payload, &sig.params).unwrap_err();
            assert_eq!(
                err.to_string(),
                "parameter 1 (`h`): own<resource> cannot cross the wire",
                "{encoding:?}"
            );
        }
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let malformed =
            |r: Result<Vec<Val>, CodecError>| matches!(r, Err(CodecError::Malformed { .. }));
        assert!(malformed(decode_params(
            Encoding::Msgpack,
            &[0x90, 0x00],
            &[]
        )));
        assert!(malformed(decode_params(
            Encoding::Msgpack,
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
            &[]
        )));
        assert!(malformed(decode_params(Encoding::Json, b"[1,", &[])));
        assert!(malformed(decode_params(Encoding::Wave, &[0xff], &[])));
        assert!(
            decode_params(Encoding::Msgpack, &[], &[])
                .unwrap()
                .is_empty()
        );
        assert!(
            decode_params(Encoding::Msgpack, &[0x90], &[])
                .unwrap()
                .is_empty()
        );
        assert!(decode_params(Encoding::Json, b" ", &[]).unwrap().is_empty());
    }

    #[test]
    fn floats_keep_their_short_json_form() {
        let at = At::root(Seg::Result);
        assert_eq!(
            val_to_json(&Val::Float32(0.1), &Type::Float32, &at)
                .unwrap()
                .to_string(),
            "0.1"
        );
        assert!(matches!(
            val_to_json(&Val::Float64(f64::NAN), &Type::Float64, &at),
            Err(CodecError::NoJsonForm { .. })
        ));
        assert_eq!(
            json_to_val(&json!(3), &Type::Float64, &at).unwrap(),
            Val::Float64(3.0)
        );
        assert_eq!(
            mp_to_val(&Mp::from(3_i64), &Type::Float32, &at).unwrap(),
            Val::Float32(3.0)
        );
    }
}
