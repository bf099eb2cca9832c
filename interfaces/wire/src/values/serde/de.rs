//! The deserializer: an `rmpv::Value` in the wire mapping to a Rust value
//! (case indices or names, bin or arrays for byte lists, positional or
//! named structs).

use rmpv::Value as Mp;
use serde::de::{self, DeserializeSeed, IntoDeserializer as _, Visitor};

use crate::values::ValueError;

/// A `T` read from the mapping's msgpack value.
pub(super) fn from_value<T: de::DeserializeOwned>(value: &Mp) -> Result<T, ValueError> {
    T::deserialize(ValueDeserializer(value))
}

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
