//! Identity kinds and nkey parsing.
//!
//! Every Floe identity is an ed25519 key in the NATS nkey encoding (prefix
//! letter + base32 + CRC16). This module maps Floe's names for the kinds onto
//! the nkey prefixes and turns strings into checked keys at the edge.

use std::fmt;
use std::str::FromStr;

use nkeys::{KeyPair, KeyPairType};

/// The kinds of identity a Floe lattice knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// An issuer that signs actors and providers (`A…`).
    Account,
    /// An actor (a WebAssembly component) (`M…`).
    Actor,
    /// A capability provider (`V…`).
    Provider,
    /// A host process (`N…`).
    Host,
    /// A cluster key shared by a lattice's hosts (`C…`).
    Cluster,
}

impl KeyKind {
    /// Every kind, in display order.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Account,
        KeyKind::Actor,
        KeyKind::Provider,
        KeyKind::Host,
        KeyKind::Cluster,
    ];

    /// The lower-case name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Account => "account",
            KeyKind::Actor => "actor",
            KeyKind::Provider => "provider",
            KeyKind::Host => "host",
            KeyKind::Cluster => "cluster",
        }
    }

    /// The first letter of a public key of this kind.
    pub fn public_prefix(self) -> char {
        match self {
            KeyKind::Account => 'A',
            KeyKind::Actor => 'M',
            KeyKind::Provider => 'V',
            KeyKind::Host => 'N',
            KeyKind::Cluster => 'C',
        }
    }

    fn nkey_type(self) -> KeyPairType {
        match self {
            KeyKind::Account => KeyPairType::Account,
            KeyKind::Actor => KeyPairType::Module,
            KeyKind::Provider => KeyPairType::Service,
            KeyKind::Host => KeyPairType::Server,
            KeyKind::Cluster => KeyPairType::Cluster,
        }
    }

    fn from_nkey_type(kind: KeyPairType) -> Option<KeyKind> {
        match kind {
            KeyPairType::Account => Some(KeyKind::Account),
            KeyPairType::Module => Some(KeyKind::Actor),
            KeyPairType::Service => Some(KeyKind::Provider),
            KeyPairType::Server => Some(KeyKind::Host),
            KeyPairType::Cluster => Some(KeyKind::Cluster),
            _ => None,
        }
    }

    /// A fresh random key pair of this kind.
    pub fn generate(self) -> KeyPair {
        KeyPair::new(self.nkey_type())
    }

    /// The kind of a key pair, if it is one Floe uses.
    pub fn of(pair: &KeyPair) -> Option<KeyKind> {
        Self::from_nkey_type(pair.key_pair_type())
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyKind {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| KeyError::UnknownKind(s.to_owned()))
    }
}

/// Why a string is not the key that was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key type `{0}` (expected account, actor, provider, host or cluster)")]
    UnknownKind(String),
    #[error("`{0}` is not a valid nkey public key")]
    InvalidPublicKey(String),
    #[error("not a valid nkey seed (a seed starts with `S` and is 58 characters long)")]
    InvalidSeed,
    #[error("expected {expected} key (starting with `{prefix}`), got {found}", prefix = expected.public_prefix())]
    WrongKind { expected: KeyKind, found: String },
}

/// Parses a public key and checks that it is of the `expected` kind.
pub fn parse_public(key: &str, expected: KeyKind) -> Result<KeyPair, KeyError> {
    let pair =
        KeyPair::from_public_key(key).map_err(|_| KeyError::InvalidPublicKey(key.to_owned()))?;
    check_kind(&pair, expected)?;
    Ok(pair)
}

/// Parses a seed and checks that it is of the `expected` kind.
pub fn parse_seed(seed: &str, expected: KeyKind) -> Result<KeyPair, KeyError> {
    let pair = KeyPair::from_seed(seed.trim()).map_err(|_| KeyError::InvalidSeed)?;
    check_kind(&pair, expected)?;
    Ok(pair)
}

/// True when `s` looks like an nkey seed rather than a key name.
pub fn looks_like_seed(s: &str) -> bool {
    s.len() == 58 && s.starts_with('S')
}

fn check_kind(pair: &KeyPair, expected: KeyKind) -> Result<(), KeyError> {
    match KeyKind::of(pair) {
        Some(kind) if kind == expected => Ok(()),
        Some(kind) => Err(KeyError::WrongKind {
            expected,
            found: format!("{kind} key"),
        }),
        None => Err(KeyError::WrongKind {
            expected,
            found: "a kind of key Floe does not use".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_generates_keys_with_its_prefix() {
        for kind in KeyKind::ALL {
            let pair = kind.generate();
            assert!(pair.public_key().starts_with(kind.public_prefix()));
            assert_eq!(KeyKind::of(&pair), Some(kind));
            let seed = pair.seed().expect("generated pairs have seeds");
            assert!(looks_like_seed(&seed));
            let back = parse_seed(&seed, kind).expect("own seed parses");
            assert_eq!(back.public_key(), pair.public_key());
        }
    }

    #[test]
    fn wrong_kinds_are_refused() {
        let actor = KeyKind::Actor.generate();
        let err = parse_public(&actor.public_key(), KeyKind::Account).unwrap_err();
        assert!(matches!(
            err,
            KeyError::WrongKind {
                expected: KeyKind::Account,
                ..
            }
        ));
        assert!(parse_public("Mnot-a-key", KeyKind::Actor).is_err());
        assert!(parse_seed("SAnot-a-seed", KeyKind::Account).is_err());
        assert_eq!("provider".parse::<KeyKind>(), Ok(KeyKind::Provider));
        assert!("module".parse::<KeyKind>().is_err());
    }
}
