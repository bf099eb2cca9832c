//! The WAVE encoding, text as `wasmtime run --invoke` writes values, both
//! ways, through wasmtime's `wasm_wave`: parameters as the inside of a call
//! `f(a, b)`, a result as one value. It adds what `wasm_wave` leaves out:
//! positions in the caller's text, refusing values the writer cannot
//! write, and flags in declaration order.

use wasmtime::component::wasm_wave::{
    self, ast::Node, parser::ParserError, untyped::UntypedFuncCall,
};
use wasmtime::component::{Type, Val};

use super::error::check_wire_type;
use super::error::{At, CodecError, Seg, malformed};
use super::shared::declaration_order;
use super::types::{type_name, val_kind};

/// WAVE parameters are parsed as the call `f(<payload>\n)`; the newline
/// keeps a trailing `//` comment from swallowing the closing parenthesis.
const WAVE_CALL_PREFIX: &str = "f(";
const WAVE_CALL_SUFFIX: &str = "\n)";

/// Parameters of a call, as the inside of `f(…)`; see `decode_params`.
pub(super) fn decode_params_wave(
    payload: &[u8],
    params: &[(String, Type)],
) -> Result<Vec<Val>, CodecError> {
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
                .map(|val| flags_in_order(val, ty))
                .map_err(|e| expecting(wave_error(&At::param(i, name), &e, &source, offset), ty)),
            // As in a WAVE call, trailing option parameters may be left out.
            None if matches!(ty, Type::Option(_)) => Ok(Val::Option(None)),
            None => Err(CodecError::ParamCount {
                expected: params.len(),
                got: nodes.len(),
            }),
        })
        .collect()
}

/// Decodes one WAVE value of type `ty`, such as a reply's result.
pub(super) fn decode_value_wave(payload: &[u8], ty: &Type, at: &At<'_>) -> Result<Val, CodecError> {
    check_wire_type(ty, at)?;
    let text = utf8(payload)?;
    wasm_wave::from_str::<Val>(ty, text)
        .map(|val| flags_in_order(val, ty))
        .map_err(|e| expecting(wave_error(at, &e, text, 0), ty))
}

/// Names the type that was expected where WAVE text did not parse as it.
fn expecting(error: CodecError, ty: &Type) -> CodecError {
    match error {
        CodecError::Wave { at, message } => CodecError::Wave {
            at,
            message: format!("{message}; expected a {}", type_name(ty)),
        },
        other => other,
    }
}

/// WAVE text of one value; refuses what the WAVE writer cannot write.
pub(super) fn wave_text(val: &Val, ty: &Type, at: &At<'_>) -> Result<String, CodecError> {
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

fn utf8(payload: &[u8]) -> Result<&str, CodecError> {
    std::str::from_utf8(payload).map_err(|e| malformed("WAVE", e))
}

/// `val`, of type `ty` (the parser checked it), with the set flags of every
/// flags value in it in declaration order, as the other encodings decode
/// them and wasmtime lifts them: the WAVE parser sorts them by name.
fn flags_in_order(mut val: Val, ty: &Type) -> Val {
    order_flags(&mut val, ty);
    val
}

/// [`flags_in_order`] in place, through lists, records, tuples, cases and
/// options.
fn order_flags(val: &mut Val, ty: &Type) {
    match (ty, val) {
        (Type::Flags(f), Val::Flags(set)) => *set = declaration_order(f, set.as_slice()),
        (Type::List(l), Val::List(items)) => {
            let elem = l.ty();
            items.iter_mut().for_each(|item| order_flags(item, &elem));
        }
        (Type::FixedLengthList(l), Val::FixedLengthList(items)) => {
            let elem = l.ty();
            items.iter_mut().for_each(|item| order_flags(item, &elem));
        }
        (Type::Record(r), Val::Record(fields)) => {
            for (name, item) in fields.iter_mut() {
                if let Some(field) = r.fields().find(|f| f.name == name.as_str()) {
                    order_flags(item, &field.ty);
                }
            }
        }
        (Type::Tuple(t), Val::Tuple(items)) => {
            for (elem, item) in t.types().zip(items.iter_mut()) {
                order_flags(item, &elem);
            }
        }
        (Type::Variant(v), Val::Variant(name, Some(payload))) => {
            let case_ty = v
                .cases()
                .find(|c| c.name == name.as_str())
                .and_then(|c| c.ty);
            if let Some(case_ty) = case_ty {
                order_flags(payload, &case_ty);
            }
        }
        (Type::Option(o), Val::Option(Some(inner))) => order_flags(inner, &o.ty()),
        (Type::Result(r), Val::Result(res)) => {
            let (case_ty, payload) = match res {
                Ok(p) => (r.ok(), p),
                Err(p) => (r.err(), p),
            };
            if let (Some(case_ty), Some(payload)) = (case_ty, payload) {
                order_flags(payload, &case_ty);
            }
        }
        _ => {}
    }
}
