//! WAVE: call-argument text, its errors, and flags in declaration order.

use super::*;

/// Flags nested in a list, an option and a tuple, to check every decoded
/// flags value comes in declaration order, not the order written.
const FLAGS_WAT: &str = r#"
(component
  (type $perms-def (flags "read" "write" "exec"))
  (import "perms" (type $perms (eq $perms-def)))
  (type $fn (func
    (param "l" (list (option $perms)))
    (result (tuple $perms u8))))
  (import "h" (func (type $fn)))
)
"#;

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
fn wave_flags_come_in_declaration_order() {
    let sig = signature(TYPES_WAT, "f");
    let text = encode_params(Encoding::Wave, &sample(), &sig.params).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("{read, exec}"), "{text}");
    let reordered = text.replace("{read, exec}", "{exec, read}");
    let back = decode_params(Encoding::Wave, reordered.as_bytes(), &sig.params).unwrap();
    assert_eq!(back, sample());
    let twice = text.replace("{read, exec}", "{read, read}");
    assert!(matches!(
        decode_params(Encoding::Wave, twice.as_bytes(), &sig.params),
        Err(CodecError::Wave { .. })
    ));

    let nested = signature(FLAGS_WAT, "h");
    let back = decode_params(
        Encoding::Wave,
        b"[some({exec, write, read}), none, some({})]",
        &nested.params,
    )
    .unwrap();
    let expected = Val::List(vec![
        Val::Option(boxed(flags(&["read", "write", "exec"]))),
        Val::Option(None),
        Val::Option(boxed(flags(&[]))),
    ]);
    assert_eq!(back, [expected]);
    let result = decode_result(
        Encoding::Wave,
        b"({exec, write}, 1)",
        nested.results.first(),
    );
    assert_eq!(
        result.unwrap(),
        Some(Val::Tuple(vec![flags(&["write", "exec"]), Val::U8(1)]))
    );
}

#[test]
fn a_wave_value_that_does_not_parse_names_the_type_expected() {
    let sig = signature(FLAGS_WAT, "h");
    let err = decode_params(Encoding::Wave, b"[\"not flags\"]", &sig.params)
        .expect_err("a string is not a list of options of flags");
    let text = err.to_string();
    assert!(
        text.contains("expected a list<option<flags"),
        "names the expected type: {text}"
    );
}
