//! The msgpack reader: one item head at a time, straight from the bytes
//! (strings and bin borrowed, nothing copied). Payloads are untrusted: a
//! truncated item, a reserved byte or trailing bytes are errors, and no
//! length read from the input sizes an allocation beyond the bytes left.

use rmp::Marker;

use super::super::ValueError;
use super::super::error::malformed;

/// One item's head: a scalar, or the length of what follows.
#[derive(Debug, Clone, Copy)]
pub(super) enum Head<'b> {
    Nil,
    Bool(bool),
    Int(i128),
    F32(f32),
    F64(f64),
    Str(&'b [u8]),
    Bin(&'b [u8]),
    Array(usize),
    Map(usize),
    Ext,
}

impl Head<'_> {
    /// What was found, for messages ("string", "array of 3", …).
    pub(super) fn describe(&self) -> String {
        match self {
            Head::Nil => "nil".to_owned(),
            Head::Bool(b) => format!("bool {b}"),
            Head::Int(i) => format!("integer {i}"),
            Head::F32(x) => format!("float32 {x}"),
            Head::F64(x) => format!("float64 {x}"),
            Head::Str(s) if std::str::from_utf8(s).is_ok() => "string".to_owned(),
            Head::Str(_) => "a string that is not valid UTF-8".to_owned(),
            Head::Bin(b) => format!("bin of {} bytes", b.len()),
            Head::Array(n) => format!("array of {n}"),
            Head::Map(n) => format!("map of {n} entries"),
            Head::Ext => "an ext value".to_owned(),
        }
    }
}

pub(super) struct Reader<'b> {
    rest: &'b [u8],
}

impl<'b> Reader<'b> {
    pub(super) fn new(bytes: &'b [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Bytes not read yet: an upper bound on the items still to come.
    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// True, and consumed, when the next item is nil.
    pub(super) fn take_nil(&mut self) -> bool {
        match self.rest.split_first() {
            Some((0xc0, rest)) => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// Refuses bytes after the value.
    pub(super) fn finish(self) -> Result<(), ValueError> {
        if self.rest.is_empty() {
            return Ok(());
        }
        Err(malformed(
            "msgpack",
            format!("{} trailing byte(s) after the value", self.rest.len()),
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8], ValueError> {
        if self.rest.len() < n {
            return Err(malformed(
                "msgpack",
                format!(
                    "the payload ends early: {n} byte(s) needed, {} left",
                    self.rest.len()
                ),
            ));
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], ValueError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len(&mut self, width: usize) -> Result<usize, ValueError> {
        Ok(match width {
            1 => usize::from(self.be::<1>()?[0]),
            2 => usize::from(u16::from_be_bytes(self.be()?)),
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    /// A count of `n` items of at least `bytes_each` bytes, which the bytes
    /// left must be able to hold.
    fn items(&self, n: usize, bytes_each: usize) -> Result<usize, ValueError> {
        if n.saturating_mul(bytes_each) > self.rest.len() {
            return Err(malformed(
                "msgpack",
                format!("{n} items announced, {} byte(s) left", self.rest.len()),
            ));
        }
        Ok(n)
    }

    fn items_of_width(&mut self, width: usize, bytes_each: usize) -> Result<usize, ValueError> {
        let n = self.len(width)?;
        self.items(n, bytes_each)
    }

    /// Reads the next item's head; a string or bin comes with its bytes.
    pub(super) fn head(&mut self) -> Result<Head<'b>, ValueError> {
        let byte = self.take(1)?[0];
        Ok(match Marker::from_u8(byte) {
            Marker::Null => Head::Nil,
            Marker::True => Head::Bool(true),
            Marker::False => Head::Bool(false),
            Marker::FixPos(n) => Head::Int(n.into()),
            Marker::FixNeg(n) => Head::Int(n.into()),
            Marker::U8 => Head::Int(self.be::<1>()?[0].into()),
            Marker::U16 => Head::Int(u16::from_be_bytes(self.be()?).into()),
            Marker::U32 => Head::Int(u32::from_be_bytes(self.be()?).into()),
            Marker::U64 => Head::Int(u64::from_be_bytes(self.be()?).into()),
            Marker::I8 => Head::Int(i8::from_be_bytes(self.be()?).into()),
            Marker::I16 => Head::Int(i16::from_be_bytes(self.be()?).into()),
            Marker::I32 => Head::Int(i32::from_be_bytes(self.be()?).into()),
            Marker::I64 => Head::Int(i64::from_be_bytes(self.be()?).into()),
            Marker::F32 => Head::F32(f32::from_be_bytes(self.be()?)),
            Marker::F64 => Head::F64(f64::from_be_bytes(self.be()?)),
            Marker::FixStr(n) => Head::Str(self.take(n.into())?),
            Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let n = self.len(width(byte - 0xd9))?;
                Head::Str(self.take(n)?)
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let n = self.len(width(byte - 0xc4))?;
                Head::Bin(self.take(n)?)
            }
            Marker::FixArray(n) => Head::Array(self.items(n.into(), 1)?),
            Marker::Array16 => Head::Array(self.items_of_width(2, 1)?),
            Marker::Array32 => Head::Array(self.items_of_width(4, 1)?),
            Marker::FixMap(n) => Head::Map(self.items(n.into(), 2)?),
            Marker::Map16 => Head::Map(self.items_of_width(2, 2)?),
            Marker::Map32 => Head::Map(self.items_of_width(4, 2)?),
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32 => Head::Ext,
            Marker::Reserved => {
                return Err(malformed("msgpack", "reserved byte 0xc1"));
            }
        })
    }
}

/// The length width of the n-th of an 8/16/32-bit marker triple.
fn width(n: u8) -> usize {
    match n {
        0 => 1,
        1 => 2,
        _ => 4,
    }
}
