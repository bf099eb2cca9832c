//! Lattice ids: the namespace a set of hosts shares on one NATS.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A validated lattice id: `[a-zA-Z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LatticeId(String);

/// The lattice used when none is named.
pub const DEFAULT_LATTICE: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid lattice id: use 1 to 64 letters, digits, `_` or `-`")]
pub struct InvalidLatticeId(pub String);

impl LatticeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LatticeId {
    fn default() -> Self {
        LatticeId(DEFAULT_LATTICE.to_owned())
    }
}

impl FromStr for LatticeId {
    type Err = InvalidLatticeId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(LatticeId(s.to_owned()))
        } else {
            Err(InvalidLatticeId(s.to_owned()))
        }
    }
}

impl TryFrom<String> for LatticeId {
    type Error = InvalidLatticeId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<LatticeId> for String {
    fn from(value: LatticeId) -> Self {
        value.0
    }
}

impl fmt::Display for LatticeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_the_alphabet() {
        assert!("default".parse::<LatticeId>().is_ok());
        assert!("team_a-1".parse::<LatticeId>().is_ok());
        for bad in ["", "a.b", "a b", "a*", ">", &"x".repeat(65)] {
            assert!(bad.parse::<LatticeId>().is_err(), "{bad}");
        }
    }
}
