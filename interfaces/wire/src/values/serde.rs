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
//! `Vec<u8>` as an array, so [`to_vec`] has its own serializer (through an
//! `rmpv::Value`); [`from_slice`] reads variant indices and names alike.

use rmpv::Value as Mp;
use serde::de::{self, DeserializeSeed, IntoDeserializer as _, Visitor};
use serde::ser::{self, Serialize};

use super::ValueError;
use super::msgpack::{read, write};

/// Encodes `value` with the wire mapping.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ValueError> {
    write(&value.serialize(ValueSerializer)?.value)
}

/// Decodes a `T` from bytes written with the wire mapping.
pub fn from_slice<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ValueError> {
    T::deserialize(ValueDeserializer(&read(bytes)?))
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

// ---------------------------------------------------------------------------
// Serializer: Rust → rmpv::Value
// ---------------------------------------------------------------------------

/// A serialized value, and whether it came from a `u8` (so a sequence of
/// them becomes bin) or from `()` (so a case carrying it is a bare index).
struct Out {
    value: Mp,
    is_u8: bool,
    is_unit: bool,
}

impl From<Mp> for Out {
    fn from(value: Mp) -> Self {
        Out {
            value,
            is_u8: false,
            is_unit: false,
        }
    }
}

struct ValueSerializer;

fn variant_index(index: u32) -> Mp {
    Mp::from(index)
}

impl ser::Serializer for ValueSerializer {
    type Ok = Out;
    type Error = ValueError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = MapOut;
    type SerializeStruct = Seq;
    type SerializeStructVariant = Seq;

    fn serialize_bool(self, v: bool) -> Result<Out, ValueError> {
        Ok(Mp::Boolean(v).into())
    }
    fn serialize_i8(self, v: i8) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_i16(self, v: i16) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_i32(self, v: i32) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_i64(self, v: i64) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_u8(self, v: u8) -> Result<Out, ValueError> {
        Ok(Out {
            value: Mp::from(v),
            is_u8: true,
            is_unit: false,
        })
    }
    fn serialize_u16(self, v: u16) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_u32(self, v: u32) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_u64(self, v: u64) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_f32(self, v: f32) -> Result<Out, ValueError> {
        Ok(Mp::F32(v).into())
    }
    fn serialize_f64(self, v: f64) -> Result<Out, ValueError> {
        Ok(Mp::F64(v).into())
    }
    fn serialize_char(self, v: char) -> Result<Out, ValueError> {
        Ok(Mp::from(v.to_string()).into())
    }
    fn serialize_str(self, v: &str) -> Result<Out, ValueError> {
        Ok(Mp::from(v).into())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Out, ValueError> {
        Ok(Mp::Binary(v.to_vec()).into())
    }
    fn serialize_none(self) -> Result<Out, ValueError> {
        Ok(Mp::Nil.into())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Out, ValueError> {
        Ok(value.serialize(self)?.value.into())
    }
    fn serialize_unit(self) -> Result<Out, ValueError> {
        Ok(Out {
            value: Mp::Nil,
            is_u8: false,
            is_unit: true,
        })
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Out, ValueError> {
        Ok(Mp::Array(vec![]).into())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
    ) -> Result<Out, ValueError> {
        Ok(variant_index(index).into())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Out, ValueError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<Out, ValueError> {
        // A unit payload (`Ok(())` of `result<_, E>`) is a bare index.
        let payload = value.serialize(ValueSerializer)?;
        Ok(if payload.is_unit {
            variant_index(index)
        } else {
            Mp::Map(vec![(variant_index(index), payload.value)])
        }
        .into())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, ValueError> {
        Ok(Seq::new(len, None))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, ValueError> {
        Ok(Seq::new(Some(len), None).positional())
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq, ValueError> {
        Ok(Seq::new(Some(len), None).positional())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Seq, ValueError> {
        Ok(Seq::new(Some(len), Some(index)).positional())
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapOut, ValueError> {
        Ok(MapOut {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Seq, ValueError> {
        Ok(Seq::new(Some(len), None).positional())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Seq, ValueError> {
        Ok(Seq::new(Some(len), Some(index)).positional())
    }
}

/// Elements of a sequence, tuple or struct; a variant's index when it is
/// the payload of one.
struct Seq {
    items: Vec<Mp>,
    all_u8: bool,
    /// Tuples and structs are arrays even when every field is a `u8`.
    positional: bool,
    variant: Option<u32>,
}

impl Seq {
    fn new(len: Option<usize>, variant: Option<u32>) -> Self {
        Seq {
            items: Vec::with_capacity(len.unwrap_or(0)),
            all_u8: true,
            positional: false,
            variant,
        }
    }

    fn positional(mut self) -> Self {
        self.positional = true;
        self
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let out = value.serialize(ValueSerializer)?;
        self.all_u8 &= out.is_u8;
        self.items.push(out.value);
        Ok(())
    }

    fn finish(self) -> Result<Out, ValueError> {
        let value = if !self.positional && self.all_u8 && !self.items.is_empty() {
            Mp::Binary(
                self.items
                    .iter()
                    .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()).unwrap_or(0))
                    .collect(),
            )
        } else {
            Mp::Array(self.items)
        };
        Ok(match self.variant {
            Some(index) => Mp::Map(vec![(variant_index(index), value)]),
            None => value,
        }
        .into())
    }
}

/// The compound traits all push onto the same [`Seq`].
macro_rules! seq_compound {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Seq {
            type Ok = Out;
            type Error = ValueError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
                self.push(value)
            }
            fn end(self) -> Result<Out, ValueError> {
                self.finish()
            }
        }
    )*};
}

/// The same for struct-like compounds, whose fields are positional here.
macro_rules! seq_struct_compound {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Seq {
            type Ok = Out;
            type Error = ValueError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                _key: &'static str,
                value: &T,
            ) -> Result<(), ValueError> {
                self.push(value)
            }
            fn end(self) -> Result<Out, ValueError> {
                self.finish()
            }
        }
    )*};
}

seq_compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);
seq_struct_compound!(SerializeStruct, SerializeStructVariant);

struct MapOut {
    entries: Vec<(Mp, Mp)>,
    key: Option<Mp>,
}

impl ser::SerializeMap for MapOut {
    type Ok = Out;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.key = Some(key.serialize(ValueSerializer)?.value);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ValueError::Serde("a map value without its key".into()))?;
        self.entries
            .push((key, value.serialize(ValueSerializer)?.value));
        Ok(())
    }
    fn end(self) -> Result<Out, ValueError> {
        Ok(Mp::Map(self.entries).into())
    }
}

// ---------------------------------------------------------------------------
// Deserializer: rmpv::Value → Rust
// ---------------------------------------------------------------------------

struct ValueDeserializer<'a>(&'a Mp);

fn unexpected(mp: &Mp) -> de::Unexpected<'_> {
    match mp {
        Mp::Nil => de::Unexpected::Unit,
        Mp::Boolean(b) => de::Unexpected::Bool(*b),
        Mp::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => de::Unexpected::Unsigned(u),
            (_, Some(s)) => de::Unexpected::Signed(s),
            _ => de::Unexpected::Other("integer"),
        },
        Mp::F32(x) => de::Unexpected::Float(f64::from(*x)),
        Mp::F64(x) => de::Unexpected::Float(*x),
        Mp::String(_) => de::Unexpected::Other("string"),
        Mp::Binary(b) => de::Unexpected::Bytes(b),
        Mp::Array(_) => de::Unexpected::Seq,
        Mp::Map(_) => de::Unexpected::Map,
        Mp::Ext(..) => de::Unexpected::Other("ext"),
    }
}

impl<'de, 'a> de::Deserializer<'de> for ValueDeserializer<'a> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Mp::Nil => visitor.visit_unit(),
            Mp::Boolean(b) => visitor.visit_bool(*b),
            Mp::Integer(i) => match (i.as_u64(), i.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (_, Some(s)) => visitor.visit_i64(s),
                _ => Err(ValueError::Serde(format!("integer {i} out of range"))),
            },
            Mp::F32(x) => visitor.visit_f32(*x),
            Mp::F64(x) => visitor.visit_f64(*x),
            Mp::String(s) => match s.as_str() {
                Some(text) => visitor.visit_str(text),
                None => Err(ValueError::Serde("a string that is not UTF-8".into())),
            },
            Mp::Binary(b) => visitor.visit_bytes(b),
            Mp::Array(items) => visitor.visit_seq(SeqIn(items.iter())),
            Mp::Map(entries) => visitor.visit_map(MapIn {
                entries: entries.iter(),
                value: None,
            }),
            Mp::Ext(..) => Err(ValueError::Serde("msgpack ext values are not used".into())),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Mp::Nil => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Mp::Nil => visitor.visit_unit(),
            Mp::Array(items) if items.is_empty() => visitor.visit_unit(),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Mp::Array(items) => visitor.visit_seq(SeqIn(items.iter())),
            // bin is a list of u8.
            Mp::Binary(bytes) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(bytes.iter().copied()))
            }
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Mp::Array(items) => visitor.visit_seq(SeqIn(items.iter())),
            Mp::Map(entries) => visitor.visit_map(MapIn {
                entries: entries.iter(),
                value: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Mp::Map(entries) if entries.len() == 1 => visitor.visit_enum(EnumIn {
                tag: &entries[0].0,
                payload: Some(&entries[0].1),
            }),
            Mp::Integer(_) | Mp::String(_) => visitor.visit_enum(EnumIn {
                tag: self.0,
                payload: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        map identifier ignored_any
    }
}

struct SeqIn<'a>(std::slice::Iter<'a, Mp>);

impl<'de> de::SeqAccess<'de> for SeqIn<'_> {
    type Error = ValueError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        self.0
            .next()
            .map(|mp| seed.deserialize(ValueDeserializer(mp)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapIn<'a> {
    entries: std::slice::Iter<'a, (Mp, Mp)>,
    value: Option<&'a Mp>,
}

impl<'de> de::MapAccess<'de> for MapIn<'_> {
    type Error = ValueError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(ValueDeserializer(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| ValueError::Serde("a map value without its key".into()))?;
        seed.deserialize(ValueDeserializer(value))
    }
}

/// A case: its tag (index, or name for lenient readers) and payload.
struct EnumIn<'a> {
    tag: &'a Mp,
    payload: Option<&'a Mp>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumIn<'a> {
    type Error = ValueError;
    type Variant = PayloadIn<'a>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, PayloadIn<'a>), ValueError> {
        let tag = match self.tag {
            Mp::Integer(i) => {
                let index = i
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| ValueError::Serde(format!("case index {i} out of range")))?;
                seed.deserialize(index.into_deserializer())?
            }
            other => seed.deserialize(ValueDeserializer(other))?,
        };
        Ok((tag, PayloadIn(self.payload)))
    }
}

struct PayloadIn<'a>(Option<&'a Mp>);

impl<'de> de::VariantAccess<'de> for PayloadIn<'_> {
    type Error = ValueError;
    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Mp::Nil) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(other),
                &"a case without payload",
            )),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        // A bare index for a newtype case is `Ok(())` of `result<_, E>`.
        seed.deserialize(ValueDeserializer(self.0.unwrap_or(&Mp::Nil)))
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_tuple(
            ValueDeserializer(self.0.unwrap_or(&Mp::Nil)),
            len,
            visitor,
        )
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_struct(
            ValueDeserializer(self.0.unwrap_or(&Mp::Nil)),
            "",
            fields,
            visitor,
        )
    }
}
