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
//! - [`types`]: [`WitType`], a WIT type without names a reader needs, and
//!   [`WitValue`], a value of one.
//! - [`msgpack`]: [`encode`] and [`decode`], driven by the type.
//! - [`serde`]: [`to_vec`] and [`from_slice`] for Rust types whose fields
//!   and variants are declared in WIT order, plus [`nested_option`] for
//!   `Option<Option<T>>` fields.

pub mod msgpack;
pub mod serde;
pub mod types;

#[cfg(test)]
mod serde_tests;
#[cfg(test)]
mod tests;

pub use msgpack::{decode, encode};
pub use serde::{from_slice, nested_option, to_vec};
pub use types::{WitType, WitValue};

/// Why a payload does not match its type, or a value its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("malformed msgpack: {0}")]
    Malformed(String),
    #[error("{at}: expected {expected}, got {got}")]
    Mismatch {
        at: String,
        expected: String,
        got: String,
    },
    #[error("{0}")]
    Serde(String),
}

impl ::serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Serde(msg.to_string())
    }
}

impl ::serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Serde(msg.to_string())
    }
}
