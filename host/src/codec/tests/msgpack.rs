//! msgpack: the compact bytes, shapes and lengths checked, `list<u8>` read
//! from bin or an array.

use super::*;

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
    for (param, val, bytes) in cases {
        let ty = param_type(&sig, param);
        let written = encode_results(
            Encoding::Msgpack,
            std::slice::from_ref(val),
            std::slice::from_ref(&ty),
        )
        .unwrap();
        assert_eq!(written, *bytes, "{param}: {val:?}");
        assert_eq!(
            decode_result(Encoding::Msgpack, bytes, Some(&ty)).unwrap(),
            Some(val.clone()),
            "{param}"
        );
    }
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
    // A payload-less case may be written `{index: nil}`; any other
    // payload is refused.
    let empty_with_nil = Mp::Map(vec![(Mp::from(0_i64), Mp::Nil)]);
    let mut expected = sample();
    expected[1] = Val::Variant("empty".to_owned(), None);
    assert_eq!(decode_with(&sig, 1, empty_with_nil).unwrap(), expected);
    let empty_with_payload = Mp::Map(vec![(Mp::from(0_i64), Mp::from(1_i64))]);
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
