//! Tests of the codec: the fixtures (a component function whose parameters
//! cover the mapping, sample values, payloads with one parameter replaced)
//! and the tests across encodings. Each encoding's own tests are in
//! `msgpack`, `json` and `wave`.

mod json;
mod msgpack;
mod wave;
mod wire;

use super::*;
use rmpv::Value as Mp;
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

fn read_msgpack(bytes: &[u8]) -> Mp {
    rmpv::decode::read_value(&mut &bytes[..]).expect("msgpack")
}

fn write_msgpack(value: &Mp) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).expect("written");
    out
}

/// The sample's msgpack parameters with element `index` replaced, decoded.
fn decode_with(sig: &Sig, index: usize, value: Mp) -> Result<Vec<Val>, CodecError> {
    let bytes = encode_values_msgpack(&sample(), &sig.params).unwrap();
    let Mp::Array(mut items) = read_msgpack(&bytes) else {
        panic!("parameters are not an array");
    };
    items[index] = value;
    decode_params(
        Encoding::Msgpack,
        &write_msgpack(&Mp::Array(items)),
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
    let err = decode_with(&sig, 0, Mp::Array(vec![Mp::from(-1_i64), Mp::from("x")])).unwrap_err();
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
