//! Capabilities named in claims: a WIT interface `ns:pkg/iface` or a whole
//! package `ns:pkg`, never with a version (a claim covers every version).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A capability an actor may import.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Capability {
    namespace: String,
    package: String,
    interface: Option<String>,
}

/// Why a string is not a capability.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    #[error(
        "capability `{0}` must look like `ns:pkg/iface` or `ns:pkg` (for example wasi:keyvalue/store)"
    )]
    Shape(String),
    #[error("capability `{0}` carries a version; drop `@…`: a capability covers every version")]
    Versioned(String),
    #[error(
        "capability `{text}`: `{part}` is not a WIT identifier (lower-case words joined by `-`)"
    )]
    Identifier { text: String, part: String },
}

impl Capability {
    /// The package this capability belongs to, as `ns:pkg`.
    pub fn package(&self) -> String {
        format!("{}:{}", self.namespace, self.package)
    }

    /// The interface name, when the capability names one interface.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_deref()
    }

    /// True when this capability grants the import `ns:pkg/iface[@version]`.
    pub fn grants(&self, import: &str) -> bool {
        let unversioned = import.split('@').next().unwrap_or(import);
        let Some((pkg, iface)) = unversioned.split_once('/') else {
            return false;
        };
        let Some((ns, name)) = pkg.split_once(':') else {
            return false;
        };
        ns == self.namespace
            && name == self.package
            && self.interface.as_deref().is_none_or(|mine| mine == iface)
    }
}

fn is_wit_identifier(part: &str) -> bool {
    !part.is_empty()
        && part.split('-').all(|word| {
            let mut chars = word.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric())
                && (word.chars().all(|c| !c.is_ascii_uppercase())
                    || word.chars().all(|c| !c.is_ascii_lowercase()))
        })
}

impl FromStr for Capability {
    type Err = CapabilityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.contains('@') {
            return Err(CapabilityError::Versioned(text.to_owned()));
        }
        let (pkg, interface) = match text.split_once('/') {
            Some((pkg, iface)) => (pkg, Some(iface)),
            None => (text, None),
        };
        let (namespace, package) = pkg
            .split_once(':')
            .ok_or_else(|| CapabilityError::Shape(text.to_owned()))?;
        for part in [Some(namespace), Some(package), interface]
            .into_iter()
            .flatten()
        {
            if !is_wit_identifier(part) {
                return Err(CapabilityError::Identifier {
                    text: text.to_owned(),
                    part: part.to_owned(),
                });
            }
        }
        Ok(Capability {
            namespace: namespace.to_owned(),
            package: package.to_owned(),
            interface: interface.map(str::to_owned),
        })
    }
}

impl TryFrom<String> for Capability {
    type Error = CapabilityError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Capability> for String {
    fn from(value: Capability) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.package)?;
        if let Some(iface) = &self.interface {
            write!(f, "/{iface}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_interfaces_and_packages() {
        let iface: Capability = "wasi:keyvalue/store".parse().expect("interface");
        assert_eq!(iface.package(), "wasi:keyvalue");
        assert_eq!(iface.interface(), Some("store"));
        assert!(iface.grants("wasi:keyvalue/store@0.2.0-draft"));
        assert!(!iface.grants("wasi:keyvalue/atomics"));
        let pkg: Capability = "wasi:keyvalue".parse().expect("package");
        assert!(pkg.grants("wasi:keyvalue/atomics@0.2.0-draft"));
        assert!(!pkg.grants("wasi:http/outgoing-handler"));
        assert_eq!(pkg.to_string(), "wasi:keyvalue");
    }

    #[test]
    fn refuses_versions_and_garbage() {
        assert!(matches!(
            "wasi:http/types@0.2.0".parse::<Capability>(),
            Err(CapabilityError::Versioned(_))
        ));
        for bad in [
            "", "keyvalue", ":x", "a:/b", "a:b/", "a:b/c/d", "a b:c", "a:-b", "a:b/1c",
        ] {
            assert!(bad.parse::<Capability>().is_err(), "{bad} should not parse");
        }
    }
}
