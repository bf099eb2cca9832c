//! The promise to provider authors, tested: plain serde types declared in
//! WIT order produce and accept exactly the mapping's bytes.

use proptest::collection::vec;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::{WitType, WitValue, decode, encode, from_slice, nested_option, to_vec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Tone {
    Warm,
    Formal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Person {
    name: String,
    title: Option<String>,
    languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Salutation {
    Plain,
    Honorific(String),
}

/// A flags type: a struct of booleans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Permissions {
    read: bool,
    write: bool,
    exec: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Everything {
    small: u8,
    big: i64,
    ratio: f64,
    letter: char,
    pair: (u16, String),
    person: Option<Person>,
    salutations: Vec<Salutation>,
    tone: Tone,
    outcome: Result<Person, String>,
    done: Result<(), String>,
    maybe: Result<Option<u32>, ()>,
    #[serde(with = "nested_option")]
    nested: Option<Option<u32>>,
    perms: Permissions,
    #[serde(with = "serde_bytes")]
    blob: Vec<u8>,
    words: Vec<String>,
}

fn person_type() -> WitType {
    WitType::Record(vec![
        ("name".into(), WitType::String),
        ("title".into(), WitType::Option(Box::new(WitType::String))),
        ("languages".into(), WitType::List(Box::new(WitType::String))),
    ])
}

fn everything_type() -> WitType {
    let b = Box::new;
    WitType::Record(vec![
        ("small".into(), WitType::U8),
        ("big".into(), WitType::S64),
        ("ratio".into(), WitType::F64),
        ("letter".into(), WitType::Char),
        (
            "pair".into(),
            WitType::Tuple(vec![WitType::U16, WitType::String]),
        ),
        ("person".into(), WitType::Option(b(person_type()))),
        (
            "salutations".into(),
            WitType::List(b(WitType::Variant(vec![
                ("plain".into(), None),
                ("honorific".into(), Some(WitType::String)),
            ]))),
        ),
        (
            "tone".into(),
            WitType::Enum(vec!["warm".into(), "formal".into()]),
        ),
        (
            "outcome".into(),
            WitType::Result {
                ok: Some(b(person_type())),
                err: Some(b(WitType::String)),
            },
        ),
        (
            "done".into(),
            WitType::Result {
                ok: None,
                err: Some(b(WitType::String)),
            },
        ),
        (
            "maybe".into(),
            WitType::Result {
                ok: Some(b(WitType::Option(b(WitType::U32)))),
                err: None,
            },
        ),
        (
            "nested".into(),
            WitType::Option(b(WitType::Option(b(WitType::U32)))),
        ),
        (
            "perms".into(),
            WitType::Flags(vec!["read".into(), "write".into(), "exec".into()]),
        ),
        ("blob".into(), WitType::List(b(WitType::U8))),
        ("words".into(), WitType::List(b(WitType::String))),
    ])
}

fn person_value(p: &Person) -> WitValue {
    WitValue::Record(vec![
        WitValue::String(p.name.clone()),
        WitValue::Option(p.title.clone().map(|t| Box::new(WitValue::String(t)))),
        WitValue::List(p.languages.iter().cloned().map(WitValue::String).collect()),
    ])
}

fn everything_value(e: &Everything) -> WitValue {
    let b = Box::new;
    let string = |s: &String| Some(b(WitValue::String(s.clone())));
    WitValue::Record(vec![
        WitValue::U8(e.small),
        WitValue::S64(e.big),
        WitValue::F64(e.ratio),
        WitValue::Char(e.letter),
        WitValue::Tuple(vec![
            WitValue::U16(e.pair.0),
            WitValue::String(e.pair.1.clone()),
        ]),
        WitValue::Option(e.person.as_ref().map(|p| b(person_value(p)))),
        WitValue::List(
            e.salutations
                .iter()
                .map(|s| match s {
                    Salutation::Plain => WitValue::Variant(0, None),
                    Salutation::Honorific(t) => WitValue::Variant(1, string(t)),
                })
                .collect(),
        ),
        WitValue::Enum(match e.tone {
            Tone::Warm => 0,
            Tone::Formal => 1,
        }),
        WitValue::Result(match &e.outcome {
            Ok(p) => Ok(Some(b(person_value(p)))),
            Err(s) => Err(string(s)),
        }),
        WitValue::Result(match &e.done {
            Ok(()) => Ok(None),
            Err(s) => Err(string(s)),
        }),
        WitValue::Result(match &e.maybe {
            Ok(m) => Ok(Some(b(WitValue::Option(m.map(|n| b(WitValue::U32(n))))))),
            Err(()) => Err(None),
        }),
        WitValue::Option(
            e.nested
                .map(|inner| b(WitValue::Option(inner.map(|n| b(WitValue::U32(n)))))),
        ),
        WitValue::Flags(vec![e.perms.read, e.perms.write, e.perms.exec]),
        WitValue::List(e.blob.iter().map(|x| WitValue::U8(*x)).collect()),
        WitValue::List(e.words.iter().cloned().map(WitValue::String).collect()),
    ])
}

fn person() -> impl Strategy<Value = Person> {
    (
        ".{0,8}",
        proptest::option::of(".{0,4}"),
        vec(".{0,4}", 0..3),
    )
        .prop_map(|(name, title, languages)| Person {
            name,
            title,
            languages,
        })
}

fn everything() -> impl Strategy<Value = Everything> {
    let salutation = prop_oneof![
        Just(Salutation::Plain),
        ".{0,4}".prop_map(Salutation::Honorific)
    ];
    (
        (
            any::<u8>(),
            any::<i64>(),
            any::<f64>().prop_filter("NaN", |x| !x.is_nan()),
            any::<char>(),
        ),
        (
            (any::<u16>(), ".{0,6}"),
            proptest::option::of(person()),
            vec(salutation, 0..4),
            any::<bool>(),
        ),
        (
            prop_oneof![person().prop_map(Ok), ".{0,4}".prop_map(Err)],
            prop_oneof![Just(Ok(())), ".{0,4}".prop_map(Err)],
            prop_oneof![
                proptest::option::of(any::<u32>()).prop_map(Ok),
                Just(Err(()))
            ],
            proptest::option::of(proptest::option::of(any::<u32>())),
        ),
        (
            (any::<bool>(), any::<bool>(), any::<bool>()),
            vec(any::<u8>(), 0..6),
            vec(".{0,5}", 0..3),
        ),
    )
        .prop_map(
            |(
                (small, big, ratio, letter),
                (pair, person, salutations, formal),
                (outcome, done, maybe, nested),
                (perms, blob, words),
            )| Everything {
                small,
                big,
                ratio,
                letter,
                pair,
                person,
                salutations,
                tone: if formal { Tone::Formal } else { Tone::Warm },
                outcome,
                done,
                maybe,
                nested,
                perms: Permissions {
                    read: perms.0,
                    write: perms.1,
                    exec: perms.2,
                },
                blob,
                words,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn plain_serde_types_write_and_read_exactly_the_mapping(value in everything()) {
        let ty = everything_type();
        let wit = everything_value(&value);
        let expected = encode(&wit, &ty).expect("encodes");
        let written = to_vec(&value).expect("serde writes");
        prop_assert_eq!(&written, &expected);
        let back: Everything = from_slice(&expected).expect("serde reads the mapping");
        prop_assert_eq!(back, value);
        prop_assert_eq!(decode(&written, &ty).expect("the mapping reads serde's bytes"), wit);
    }
}

#[test]
fn a_plain_vec_of_bytes_is_bin_and_bin_reads_back() {
    let bytes = to_vec(&vec![1u8, 2, 3]).expect("writes");
    assert_eq!(bytes, vec![0xc4, 3, 1, 2, 3]);
    let back: Vec<u8> = from_slice(&bytes).expect("reads");
    assert_eq!(back, vec![1, 2, 3]);
    // A tuple of u8 stays a positional array.
    assert_eq!(to_vec(&(1u8, 2u8)).expect("writes"), vec![0x92, 1, 2]);
}
