//! Values across the wire: the one msgpack mapping of WIT values that every
//! Floe process speaks (docs/wire-values.md), and the serde configuration
//! that lets a provider use plain `#[derive(Serialize, Deserialize)]` types.
//!
//! The mapping is positional and compact: records and tuples are arrays in
//! declaration order; variants, enums and results carry the case index — a
//! bare integer without a payload, a one-entry map `{index: payload}` with
//! one (ok = 0, err = 1); options are nil or the value, except that an
//! option directly inside an option is an array of zero or one element;
//! flags are an array of booleans in declaration order; `list<u8>` is bin;
//! chars are one-character strings; integers use msgpack's smallest form.
//! Readers are lenient where it costs nothing: an array of integers is
//! accepted for `list<u8>` and bin for any list of `u8`.
//!
//! # Layout
//! - [`schema`]: [`Schema`], the seam through which the mapping walks any
//!   holder's types and values (floe-wire's own, or the host's wasmtime
//!   `Type` and `Val`).
//! - [`msgpack`]: the mapping itself, once, for any schema.
//! - [`types`]: [`WitType`], a WIT type, and [`WitValue`], a value of one;
//!   [`wit`]: them as a schema; [`encode`] and [`decode`] for them.
//! - [`path`] and [`error`]: where in a payload a value sits, and
//!   [`ValueError`], the one vocabulary of every encoding's errors.
//! - [`serde`]: [`to_vec`] and [`from_slice`] for Rust types whose fields
//!   and variants are declared in WIT order, plus [`nested_option`] for
//!   `Option<Option<T>>` fields.

pub mod error;
pub mod msgpack;
pub mod path;
pub mod schema;
pub mod serde;
pub mod types;
pub mod wit;

#[cfg(test)]
mod serde_tests;
#[cfg(test)]
mod tests;

pub use error::ValueError;
pub use path::{At, Seg};
pub use schema::Schema;
pub use serde::{from_slice, nested_option, to_vec};
pub use types::{WitType, WitValue};
pub use wit::Wit;

/// Encodes `value`, which must be of type `ty`.
pub fn encode(value: &WitValue, ty: &WitType) -> Result<Vec<u8>, ValueError> {
    msgpack::encode::<Wit>(value, ty, &At::root(Seg::Value))
}

/// Decodes one value of type `ty`; trailing bytes are an error.
pub fn decode(bytes: &[u8], ty: &WitType) -> Result<WitValue, ValueError> {
    msgpack::decode::<Wit>(bytes, ty, &At::root(Seg::Value))
}
