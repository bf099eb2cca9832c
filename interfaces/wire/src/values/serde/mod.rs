//! The wire mapping for plain serde types: a Rust type whose struct fields
//! and enum variants are declared in WIT order produces and accepts exactly
//! the bytes of [`super::encode`] — the promise to provider authors.
//!
//! | WIT | Rust |
//! | --- | --- |
//! | record, tuple | struct (named or tuple), tuple |
//! | variant, enum | enum (unit variants for payload-less cases, newtype for the rest) |
//! | result<T, E> | `Result<T, E>` (`Result<(), E>` for `result<_, E>`) |
//! | option<T> | `Option<T>`; `Option<Option<T>>` with `#[serde(with = "nested_option")]` |
//! | flags | a struct of `bool`s |
//! | list<u8> | `Vec<u8>` (bin when not empty), or `serde_bytes` (bin always) |
//! | char, string, numbers, bool | `char`, `String`, the same-width integers and floats |
//!
//! rmp-serde's own encoding names variants by their Rust names and writes
//! `Vec<u8>` as an array, so [`to_vec`] has its own serializer (`ser`,
//! through an `rmpv::Value`); [`from_slice`] its own deserializer (`de`),
//! which reads variant indices and names alike.

mod de;
mod ser;

use serde::Serialize;
use serde::de::DeserializeOwned;

use rmpv::Value as Mp;

use super::ValueError;
use super::error::malformed;

/// Nesting limit of the reader (an array costs it two levels).
const MAX_DEPTH: usize = 512;

/// Encodes `value` with the wire mapping.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ValueError> {
    write(&ser::to_value(value)?)
}

/// Decodes a `T` from bytes written with the wire mapping.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValueError> {
    de::from_value(&read(bytes)?)
}

/// `#[serde(with = "floe_wire::values::nested_option")]` for an
/// `Option<Option<T>>` field: the inner option is an array of zero or one
/// element, as the mapping writes an option directly inside an option.
pub mod nested_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(inner) => serializer.serialize_some(&inner.as_slice()),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        let value: Option<Vec<T>> = Option::deserialize(deserializer)?;
        match value {
            None => Ok(None),
            Some(mut items) if items.len() <= 1 => Ok(Some(items.pop())),
            Some(items) => Err(serde::de::Error::invalid_length(
                items.len(),
                &"an array of 0 or 1 element",
            )),
        }
    }
}

fn write(mp: &Mp) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, mp).map_err(|e| ValueError::Write {
        encoding: "msgpack",
        reason: e.to_string(),
    })?;
    Ok(out)
}

fn read(bytes: &[u8]) -> Result<Mp, ValueError> {
    let mut rest = bytes;
    let mp = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH)
        .map_err(|e| malformed("msgpack", e))?;
    if !rest.is_empty() {
        return Err(malformed(
            "msgpack",
            format!("{} trailing byte(s) after the value", rest.len()),
        ));
    }
    Ok(mp)
}
