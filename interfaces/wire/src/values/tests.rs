//! The mapping's promises, tested: every value of every generated type
//! survives a round trip, garbage never panics, the documented bytes hold
//! (plain serde types: `serde_tests`).

use proptest::collection::vec;
use proptest::prelude::*;

use super::{WitType, WitValue, decode, encode};

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn leaf_type() -> impl Strategy<Value = WitType> {
    prop_oneof![
        Just(WitType::Bool),
        Just(WitType::S8),
        Just(WitType::U8),
        Just(WitType::S16),
        Just(WitType::U16),
        Just(WitType::S32),
        Just(WitType::U32),
        Just(WitType::S64),
        Just(WitType::U64),
        Just(WitType::F32),
        Just(WitType::F64),
        Just(WitType::Char),
        Just(WitType::String),
        (1..5usize).prop_map(|n| WitType::Enum(names("e", n))),
        (1..6usize).prop_map(|n| WitType::Flags(names("f", n))),
    ]
}

fn wit_type() -> impl Strategy<Value = WitType> {
    leaf_type().prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| WitType::List(Box::new(t))),
            vec(inner.clone(), 1..4).prop_map(|ts| {
                let n = ts.len();
                WitType::Record(names("r", n).into_iter().zip(ts).collect())
            }),
            vec(inner.clone(), 1..4).prop_map(WitType::Tuple),
            vec(proptest::option::of(inner.clone()), 1..4).prop_map(|cases| {
                let n = cases.len();
                WitType::Variant(names("c", n).into_iter().zip(cases).collect())
            }),
            inner.clone().prop_map(|t| WitType::Option(Box::new(t))),
            (
                proptest::option::of(inner.clone()),
                proptest::option::of(inner)
            )
                .prop_map(|(ok, err)| WitType::Result {
                    ok: ok.map(Box::new),
                    err: err.map(Box::new),
                }),
        ]
    })
}

fn boxed(s: BoxedStrategy<WitValue>) -> BoxedStrategy<Option<Box<WitValue>>> {
    s.prop_map(|v| Some(Box::new(v))).boxed()
}

fn payload(ty: Option<&WitType>) -> BoxedStrategy<Option<Box<WitValue>>> {
    match ty {
        Some(t) => boxed(value_of(t)),
        None => Just(None).boxed(),
    }
}

/// Values of `ty` (floats without NaN, which is never equal to itself).
fn value_of(ty: &WitType) -> BoxedStrategy<WitValue> {
    match ty {
        WitType::Bool => any::<bool>().prop_map(WitValue::Bool).boxed(),
        WitType::S8 => any::<i8>().prop_map(WitValue::S8).boxed(),
        WitType::U8 => any::<u8>().prop_map(WitValue::U8).boxed(),
        WitType::S16 => any::<i16>().prop_map(WitValue::S16).boxed(),
        WitType::U16 => any::<u16>().prop_map(WitValue::U16).boxed(),
        WitType::S32 => any::<i32>().prop_map(WitValue::S32).boxed(),
        WitType::U32 => any::<u32>().prop_map(WitValue::U32).boxed(),
        WitType::S64 => any::<i64>().prop_map(WitValue::S64).boxed(),
        WitType::U64 => any::<u64>().prop_map(WitValue::U64).boxed(),
        WitType::F32 => any::<f32>()
            .prop_filter("NaN", |x| !x.is_nan())
            .prop_map(WitValue::F32)
            .boxed(),
        WitType::F64 => any::<f64>()
            .prop_filter("NaN", |x| !x.is_nan())
            .prop_map(WitValue::F64)
            .boxed(),
        WitType::Char => any::<char>().prop_map(WitValue::Char).boxed(),
        WitType::String => ".{0,12}".prop_map(WitValue::String).boxed(),
        WitType::List(elem) => vec(value_of(elem), 0..5).prop_map(WitValue::List).boxed(),
        WitType::Record(fields) => fields
            .iter()
            .map(|(_, t)| value_of(t))
            .collect::<Vec<_>>()
            .prop_map(WitValue::Record)
            .boxed(),
        WitType::Tuple(types) => types
            .iter()
            .map(value_of)
            .collect::<Vec<_>>()
            .prop_map(WitValue::Tuple)
            .boxed(),
        WitType::Variant(cases) => {
            let cases = cases.clone();
            (0..cases.len())
                .prop_flat_map(move |i| {
                    let index = u32::try_from(i).unwrap_or(0);
                    payload(cases[i].1.as_ref()).prop_map(move |p| WitValue::Variant(index, p))
                })
                .boxed()
        }
        WitType::Enum(cases) => (0..u32::try_from(cases.len()).unwrap_or(1))
            .prop_map(WitValue::Enum)
            .boxed(),
        WitType::Option(inner) => prop_oneof![
            Just(WitValue::Option(None)),
            boxed(value_of(inner)).prop_map(WitValue::Option),
        ]
        .boxed(),
        WitType::Result { ok, err } => prop_oneof![
            payload(ok.as_deref()).prop_map(|p| WitValue::Result(Ok(p))),
            payload(err.as_deref()).prop_map(|p| WitValue::Result(Err(p))),
        ]
        .boxed(),
        WitType::Flags(names) => vec(any::<bool>(), names.len())
            .prop_map(WitValue::Flags)
            .boxed(),
    }
}

fn typed_value() -> impl Strategy<Value = (WitType, WitValue)> {
    wit_type().prop_flat_map(|t| {
        let values = value_of(&t);
        (Just(t), values)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_value_of_every_type_round_trips((ty, value) in typed_value()) {
        let bytes = encode(&value, &ty).expect("a value of its type encodes");
        prop_assert_eq!(decode(&bytes, &ty).expect("decodes"), value);
    }

    #[test]
    fn garbage_never_panics(ty in wit_type(), bytes in vec(any::<u8>(), 0..64)) {
        let _ = decode(&bytes, &ty);
    }

    #[test]
    fn values_of_another_type_are_refused((ty, value) in typed_value(), other in wit_type()) {
        // Encoding checks the value against the type it is given.
        if let Ok(bytes) = encode(&value, &other) {
            // Only when the shapes coincide; then it reads back as `other`.
            prop_assert!(decode(&bytes, &other).is_ok(), "{:?} as {:?}", value, other);
        }
        let _ = ty;
    }
}

#[test]
fn the_documented_bytes() {
    use WitType as T;
    use WitValue as V;
    let opt = |t: T| T::Option(Box::new(t));
    let some = |v: V| V::Option(Some(Box::new(v)));
    let cases: Vec<(T, V, Vec<u8>)> = vec![
        (T::U32, V::U32(7), vec![0x07]),
        (T::S8, V::S8(-1), vec![0xff]),
        (T::Char, V::Char('é'), vec![0xa2, 0xc3, 0xa9]),
        (
            T::List(Box::new(T::U8)),
            V::List(vec![V::U8(1), V::U8(2)]),
            vec![0xc4, 2, 1, 2],
        ),
        (T::List(Box::new(T::U8)), V::List(vec![]), vec![0xc4, 0]),
        (
            T::Record(vec![("a".into(), T::Bool), ("b".into(), T::U8)]),
            V::Record(vec![V::Bool(true), V::U8(3)]),
            vec![0x92, 0xc3, 0x03],
        ),
        (T::Enum(names("e", 3)), V::Enum(2), vec![0x02]),
        (
            T::Variant(vec![("a".into(), None), ("b".into(), Some(T::String))]),
            V::Variant(1, Some(Box::new(V::String("x".into())))),
            vec![0x81, 0x01, 0xa1, b'x'],
        ),
        (
            T::Result {
                ok: None,
                err: Some(Box::new(T::String)),
            },
            V::Result(Ok(None)),
            vec![0x00],
        ),
        (opt(T::U8), V::Option(None), vec![0xc0]),
        (opt(T::U8), some(V::U8(5)), vec![0x05]),
        (opt(opt(T::U8)), some(V::Option(None)), vec![0x90]),
        (opt(opt(T::U8)), some(some(V::U8(5))), vec![0x91, 0x05]),
        (
            opt(opt(opt(T::U8))),
            some(some(V::Option(None))),
            vec![0x91, 0x90],
        ),
        (
            T::Flags(names("f", 3)),
            V::Flags(vec![true, false, true]),
            vec![0x93, 0xc3, 0xc2, 0xc3],
        ),
    ];
    for (ty, value, bytes) in cases {
        assert_eq!(
            encode(&value, &ty).expect("encodes"),
            bytes,
            "{}",
            ty.describe()
        );
        assert_eq!(
            decode(&bytes, &ty).expect("decodes"),
            value,
            "{}",
            ty.describe()
        );
    }
    // Lenient readers: an integer array for list<u8>.
    assert_eq!(
        decode(&[0x92, 1, 2], &T::List(Box::new(T::U8))).expect("array of u8"),
        V::List(vec![V::U8(1), V::U8(2)])
    );
}

#[test]
fn mismatches_name_the_place() {
    let ty = WitType::Record(vec![("tags".into(), WitType::List(Box::new(WitType::U16)))]);
    // [[1, 70000]]
    let bytes = [0x91, 0x92, 0x01, 0xce, 0x00, 0x01, 0x11, 0x70];
    let err = decode(&bytes, &ty).expect_err("out of range").to_string();
    assert!(
        err.contains("value, field `tags`, element 1") && err.contains("u16"),
        "{err}"
    );
    let err = decode(&[0x91, 0x90, 0x02], &ty)
        .expect_err("trailing")
        .to_string();
    assert!(err.contains("trailing"), "{err}");
}
