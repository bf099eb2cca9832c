//! Links: which entity answers an actor's import. A link is keyed by
//! (source, WIT package, link name) and lives in the lattice's KV bucket
//! under [`link_key`]; every host watches the bucket.

use serde::{Deserialize, Serialize};

use crate::control::StringMap;

/// The link format version written into every entry.
pub const LINK_VERSION: u16 = 1;

/// The link name used when none is chosen.
pub const DEFAULT_LINK_NAME: &str = "default";

/// Prefix of every link key in the lattice bucket.
pub const LINK_KEY_PREFIX: &str = "link.";

/// One link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub v: u16,
    /// The entity whose imports the link routes (an actor or provider id).
    pub source: String,
    /// The entity that answers them.
    pub target: String,
    /// The WIT package, `ns:pkg` (no version).
    pub package: String,
    /// The interfaces of the package the link covers (`iface` names).
    pub interfaces: Vec<String>,
    pub link_name: String,
    #[serde(default)]
    pub source_config: StringMap,
    #[serde(default)]
    pub target_config: StringMap,
    #[serde(default)]
    pub annotations: StringMap,
}

/// Why a link or its parts are not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("`{0}` is not a WIT package: use `ns:pkg` without a version (e.g. acme:greet)")]
    Package(String),
    #[error("`{0}` is not an interface of the form ns:pkg/iface")]
    Interface(String),
    #[error("interfaces of one link must share a package: `{0}` is not in `{1}`")]
    MixedPackages(String, String),
    #[error("`{0}` is not a valid link name: use 1 to 64 letters, digits, `_` or `-`")]
    LinkName(String),
    #[error("a link needs at least one interface")]
    NoInterfaces,
}

fn is_wit_id(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && part.as_bytes()[0].is_ascii_lowercase()
}

/// Checks `ns:pkg`.
pub fn parse_package(text: &str) -> Result<String, LinkError> {
    match text.split_once(':') {
        Some((ns, pkg)) if is_wit_id(ns) && is_wit_id(pkg) => Ok(text.to_owned()),
        _ => Err(LinkError::Package(text.to_owned())),
    }
}

/// Checks a link name.
pub fn parse_link_name(text: &str) -> Result<String, LinkError> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(LinkError::LinkName(text.to_owned()))
    }
}

/// Splits `ns:pkg/a,b` (or `ns:pkg/a,ns:pkg/b`) into the package and its
/// interface names.
pub fn parse_interfaces(text: &str) -> Result<(String, Vec<String>), LinkError> {
    let mut package: Option<String> = None;
    let mut interfaces = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (pkg, iface) = match item.split_once('/') {
            Some((pkg, iface)) => (Some(pkg), iface),
            None => (None, item),
        };
        let pkg = match (pkg, &package) {
            (Some(p), _) => parse_package(p)?,
            (None, Some(p)) => p.clone(),
            (None, None) => return Err(LinkError::Interface(item.to_owned())),
        };
        if !is_wit_id(iface) {
            return Err(LinkError::Interface(item.to_owned()));
        }
        match &package {
            Some(p) if *p != pkg => {
                return Err(LinkError::MixedPackages(item.to_owned(), p.clone()));
            }
            _ => package = Some(pkg),
        }
        interfaces.push(iface.to_owned());
    }
    let package = package.ok_or(LinkError::NoInterfaces)?;
    interfaces.sort();
    interfaces.dedup();
    Ok((package, interfaces))
}

/// The KV key of the link (source, package, link name). NATS keys allow
/// `[-/_=.a-zA-Z0-9]`: the package's `:` is written `=` (WIT names have none).
pub fn link_key(source: &str, package: &str, link_name: &str) -> String {
    format!(
        "{LINK_KEY_PREFIX}{source}.{}.{link_name}",
        package.replace(':', "=")
    )
}

impl Link {
    /// A link named `default` with no config or annotations.
    pub fn new(source: &str, target: &str, package: &str, interfaces: &[&str]) -> Self {
        Link {
            v: LINK_VERSION,
            source: source.to_owned(),
            target: target.to_owned(),
            package: package.to_owned(),
            interfaces: interfaces.iter().map(|i| (*i).to_owned()).collect(),
            link_name: DEFAULT_LINK_NAME.to_owned(),
            source_config: StringMap::new(),
            target_config: StringMap::new(),
            annotations: StringMap::new(),
        }
    }

    pub fn key(&self) -> String {
        link_key(&self.source, &self.package, &self.link_name)
    }

    /// True when this link routes the import `ns:pkg/iface[@version]`.
    pub fn covers(&self, import: &str) -> bool {
        let unversioned = import.split('@').next().unwrap_or(import);
        unversioned.split_once('/').is_some_and(|(pkg, iface)| {
            pkg == self.package && self.interfaces.iter().any(|i| i == iface)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_parse_into_one_package() {
        assert_eq!(
            parse_interfaces("acme:greet/greeter,admin"),
            Ok(("acme:greet".into(), vec!["admin".into(), "greeter".into()]))
        );
        assert_eq!(
            parse_interfaces("acme:greet/a,acme:greet/b"),
            Ok(("acme:greet".into(), vec!["a".into(), "b".into()]))
        );
        assert!(matches!(
            parse_interfaces("acme:greet/a,other:pkg/b"),
            Err(LinkError::MixedPackages(..))
        ));
        assert!(parse_interfaces("greeter").is_err());
        assert!(parse_interfaces("Acme:greet/x").is_err());
        assert!(parse_interfaces("").is_err());
        assert!(parse_link_name("blue-green_2").is_ok());
        assert!(parse_link_name("a.b").is_err());
    }

    #[test]
    fn keys_are_valid_nats_keys_and_links_cover_versions() {
        let link = Link::new("MSRC", "MTGT", "acme:greet", &["greeter"]);
        let key = link.key();
        assert_eq!(key, "link.MSRC.acme=greet.default");
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-/_=.".contains(&b))
        );
        assert!(link.covers("acme:greet/greeter@0.1.0"));
        assert!(!link.covers("acme:greet/admin"));
        assert!(!link.covers("other:greet/greeter"));
    }
}
