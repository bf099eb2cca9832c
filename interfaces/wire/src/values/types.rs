//! WIT types and values as the wire mapping sees them: names are kept (for
//! messages and the JSON form), positions decide the bytes.

/// A WIT data type. Resources, futures and streams cannot cross the wire
/// and have no form here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitType {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    List(Box<WitType>),
    /// Fields in declaration order.
    Record(Vec<(String, WitType)>),
    Tuple(Vec<WitType>),
    /// Cases in declaration order, each with its payload type, if any.
    Variant(Vec<(String, Option<WitType>)>),
    Enum(Vec<String>),
    Option(Box<WitType>),
    Result {
        ok: Option<Box<WitType>>,
        err: Option<Box<WitType>>,
    },
    /// Flag names in declaration order.
    Flags(Vec<String>),
}

/// A value of a [`WitType`].
#[derive(Debug, Clone, PartialEq)]
pub enum WitValue {
    Bool(bool),
    S8(i8),
    U8(u8),
    S16(i16),
    U16(u16),
    S32(i32),
    U32(u32),
    S64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Char(char),
    String(String),
    List(Vec<WitValue>),
    /// Field values in declaration order.
    Record(Vec<WitValue>),
    Tuple(Vec<WitValue>),
    /// The case index and its payload.
    Variant(u32, Option<Box<WitValue>>),
    Enum(u32),
    Option(Option<Box<WitValue>>),
    Result(Result<Option<Box<WitValue>>, Option<Box<WitValue>>>),
    /// One boolean per flag, in declaration order.
    Flags(Vec<bool>),
}

impl WitType {
    /// The type as WIT writes it, for messages (`list<u8>`,
    /// `record { a: u32, b: string }`), as the host names its own types.
    pub fn describe(&self) -> String {
        let join = |items: Vec<String>| items.join(", ");
        match self {
            WitType::Bool => "bool".into(),
            WitType::S8 => "s8".into(),
            WitType::U8 => "u8".into(),
            WitType::S16 => "s16".into(),
            WitType::U16 => "u16".into(),
            WitType::S32 => "s32".into(),
            WitType::U32 => "u32".into(),
            WitType::S64 => "s64".into(),
            WitType::U64 => "u64".into(),
            WitType::F32 => "f32".into(),
            WitType::F64 => "f64".into(),
            WitType::Char => "char".into(),
            WitType::String => "string".into(),
            WitType::List(t) => format!("list<{}>", t.describe()),
            WitType::Record(fields) => format!(
                "record {{ {} }}",
                join(
                    fields
                        .iter()
                        .map(|(n, t)| format!("{n}: {}", t.describe()))
                        .collect()
                )
            ),
            WitType::Tuple(ts) => format!(
                "tuple<{}>",
                join(ts.iter().map(WitType::describe).collect())
            ),
            WitType::Variant(cases) => format!(
                "variant {{ {} }}",
                join(
                    cases
                        .iter()
                        .map(|(n, t)| match t {
                            Some(t) => format!("{n}({})", t.describe()),
                            None => n.clone(),
                        })
                        .collect()
                )
            ),
            WitType::Enum(cases) => format!("enum {{ {} }}", cases.join(", ")),
            WitType::Option(t) => format!("option<{}>", t.describe()),
            WitType::Result { ok, err } => match (ok, err) {
                (None, None) => "result".to_owned(),
                (Some(ok), None) => format!("result<{}>", ok.describe()),
                (None, Some(err)) => format!("result<_, {}>", err.describe()),
                (Some(ok), Some(err)) => {
                    format!("result<{}, {}>", ok.describe(), err.describe())
                }
            },
            WitType::Flags(names) => format!("flags {{ {} }}", names.join(", ")),
        }
    }
}
