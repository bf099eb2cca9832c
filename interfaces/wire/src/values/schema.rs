//! The seam between the mapping and whoever holds the values: a [`Schema`]
//! says what shape a type has, what a value looks like, and how to make a
//! value from decoded parts. The msgpack mapping walks any schema, so there
//! is one mapping for floe-wire's own [`WitType`](super::WitType) /
//! [`WitValue`](super::WitValue) and for a runtime's types and values (the
//! host's wasmtime `Type` / `Val`), with no value tree in between and no
//! dependency on the runtime here.

use std::borrow::Cow;

/// A scalar value (everything but strings and composites).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
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
}

/// A type as the mapping walks it: its kind and its parts, names borrowed
/// from the type, child types borrowed or owned as the schema holds them.
#[derive(Debug)]
pub enum Shape<'t, T: Clone> {
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
    List(Cow<'t, T>),
    /// A list of exactly this many elements.
    FixedList(Cow<'t, T>, usize),
    /// Fields in declaration order.
    Record(Vec<(&'t str, Cow<'t, T>)>),
    Tuple(Vec<Cow<'t, T>>),
    /// Cases in declaration order, each with its payload type, if any.
    Variant(Vec<(&'t str, Option<Cow<'t, T>>)>),
    Enum(Vec<&'t str>),
    Option(Cow<'t, T>),
    Result {
        ok: Option<Cow<'t, T>>,
        err: Option<Cow<'t, T>>,
    },
    /// Flag names in declaration order.
    Flags(Vec<&'t str>),
    /// A type that cannot cross the wire (resources, futures, streams, maps).
    Unsupported,
}

/// A value as the encoder sees it.
#[derive(Debug)]
pub enum View<'v, V> {
    Scalar(Scalar),
    String(&'v str),
    List(&'v [V]),
    FixedList(&'v [V]),
    Record(Fields<'v, V>),
    Tuple(&'v [V]),
    Variant(Case<'v>, Option<&'v V>),
    Enum(Case<'v>),
    Option(Option<&'v V>),
    Result(Result<Option<&'v V>, Option<&'v V>>),
    Flags(FlagSet<'v>),
    /// A value the mapping has no form for, by kind ("resource", …).
    Other(&'static str),
}

/// A record's field values: by name (in any order), or in declaration order.
#[derive(Debug)]
pub enum Fields<'v, V> {
    Named(&'v [(String, V)]),
    InOrder(&'v [V]),
}

/// A variant or enum case: by name or by index.
#[derive(Debug, Clone, Copy)]
pub enum Case<'v> {
    Named(&'v str),
    Index(u32),
}

/// The flags that are set: by name, or one boolean per declared flag.
#[derive(Debug)]
pub enum FlagSet<'v> {
    Named(&'v [String]),
    Bits(&'v [bool]),
}

/// A decoded value, in parts, for [`Schema::make`]; names are the type's.
#[derive(Debug)]
pub enum Made<'t, V> {
    Scalar(Scalar),
    String(String),
    List(Vec<V>),
    FixedList(Vec<V>),
    /// Field names and values in declaration order.
    Record(Vec<(&'t str, V)>),
    Tuple(Vec<V>),
    Variant {
        index: u32,
        name: &'t str,
        payload: Option<V>,
    },
    Enum {
        index: u32,
        name: &'t str,
    },
    Option(Option<V>),
    Result(Result<Option<V>, Option<V>>),
    /// Each declared flag with whether it is set, in declaration order.
    Flags(Vec<(&'t str, bool)>),
}

/// Types and values the mapping can walk.
pub trait Schema {
    type Type: Clone;
    type Value;

    fn shape(ty: &Self::Type) -> Shape<'_, Self::Type>;
    /// The type as messages name it: `list<u8>`, `record { a: u32 }`, …
    fn type_name(ty: &Self::Type) -> String;
    fn view(value: &Self::Value) -> View<'_, Self::Value>;
    fn make(parts: Made<'_, Self::Value>) -> Self::Value;
}

impl<V> View<'_, V> {
    /// The kind of value, for messages ("a string value").
    pub fn kind(&self) -> &'static str {
        match self {
            View::Scalar(s) => match s {
                Scalar::Bool(_) => "bool",
                Scalar::S8(_) => "s8",
                Scalar::U8(_) => "u8",
                Scalar::S16(_) => "s16",
                Scalar::U16(_) => "u16",
                Scalar::S32(_) => "s32",
                Scalar::U32(_) => "u32",
                Scalar::S64(_) => "s64",
                Scalar::U64(_) => "u64",
                Scalar::F32(_) => "f32",
                Scalar::F64(_) => "f64",
                Scalar::Char(_) => "char",
            },
            View::String(_) => "string",
            View::List(_) => "list",
            View::FixedList(_) => "fixed-length list",
            View::Record(_) => "record",
            View::Tuple(_) => "tuple",
            View::Variant(..) => "variant",
            View::Enum(_) => "enum",
            View::Option(_) => "option",
            View::Result(_) => "result",
            View::Flags(_) => "flags",
            View::Other(kind) => kind,
        }
    }
}
