//! The serializer: a Rust value to an `rmpv::Value` in the wire mapping
//! (variant indices, bin for sequences of `u8`, a bare index for a case
//! carrying `()`).

use rmpv::Value as Mp;
use serde::ser::{self, Serialize};

use crate::values::ValueError;

/// `value` as the mapping's msgpack value.
pub(super) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Mp, ValueError> {
    Ok(value.serialize(ValueSerializer)?.value)
}

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
