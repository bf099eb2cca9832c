//! JSON: names for fields, cases and flags, checked; floats in short form.

use super::*;
use serde_json::json;

#[test]
fn json_form_uses_names() {
    let sig = signature(TYPES_WAT, "f");
    let bytes = encode_params(Encoding::Json, &sample(), &sig.params).unwrap();
    let expected = r#"[{"a":1,"b":"x"},{"byte":7},"green",["read","exec"],[],{"ok":"hi"},[1,2],[3,"s",true],"é",-128,1.5,0.1]"#;
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);
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
        decode_result(Encoding::Msgpack, &[0x03], Some(&Type::Float32)).unwrap(),
        Some(Val::Float32(3.0))
    );
}
