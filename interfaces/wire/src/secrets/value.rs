//! [`SecretValue`]: a secret's bytes in memory, wiped when dropped, never
//! printed (`Debug` and `Display` say `[REDACTED]`), never serialized.

use std::fmt;

use zeroize::Zeroizing;

use super::{MAX_SECRET_BYTES, SecretError};

/// A secret's value. The only way to its bytes is [`SecretValue::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// A value of at most [`MAX_SECRET_BYTES`]; the bytes are wiped either way.
    pub fn new(bytes: Vec<u8>) -> Result<Self, SecretError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLarge { size: bytes.len() });
        }
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(SecretValue(bytes))
    }

    /// The bytes, for the one place that hands them on (a box, a guest).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The value as text, for `wasi:config` (whose values are strings).
    pub fn as_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_never_prints() {
        let value = SecretValue::new(b"hunter2".to_vec()).unwrap();
        assert_eq!(format!("{value:?} {value}"), "[REDACTED] [REDACTED]");
        assert_eq!(value.expose(), b"hunter2");
    }

    #[test]
    fn a_value_is_bounded_and_not_empty() {
        assert!(matches!(
            SecretValue::new(vec![0; MAX_SECRET_BYTES + 1]),
            Err(SecretError::TooLarge { size }) if size == MAX_SECRET_BYTES + 1
        ));
        assert!(SecretValue::new(vec![0; MAX_SECRET_BYTES]).is_ok());
        assert!(matches!(
            SecretValue::new(Vec::new()),
            Err(SecretError::Empty)
        ));
    }
}
