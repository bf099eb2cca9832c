//! The import classes of DESIGN.md "Security", checked before an actor
//! starts so that a refusal names the interface.
//!
//! 1. WASI 0.2 (io, clocks, random, cli, filesystem, sockets): always linked,
//!    with a context that grants nothing dangerous.
//! 2. Host-provided capabilities (keyvalue, config, logging, Floe's own):
//!    need a claim (config and logging excepted) — not provided by this
//!    release yet.
//! 3. Everything else: routed by link — not provided by this release yet.

use floe_wire::Claims;

/// WASI packages every actor gets (class 1).
const ALWAYS_LINKED: &[&str] = &[
    "wasi:io",
    "wasi:clocks",
    "wasi:random",
    "wasi:cli",
    "wasi:filesystem",
    "wasi:sockets",
];

/// Why an actor's imports keep it from starting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(
        "imports {import}, which its claims do not list (re-sign it with `--cap {capability}`)"
    )]
    Unclaimed { import: String, capability: String },
    #[error("imports {import}, which no capability on this host provides yet")]
    Unavailable { import: String },
}

/// `ns:pkg/iface` of an import name, without its version.
pub fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

fn package_of(name: &str) -> &str {
    let name = unversioned(name);
    name.split('/').next().unwrap_or(name)
}

/// Checks every import of a component against its claims.
pub fn check<'a>(
    imports: impl IntoIterator<Item = &'a str>,
    claims: &Claims,
) -> Result<(), ImportError> {
    for import in imports {
        let package = package_of(import);
        if ALWAYS_LINKED.contains(&package) {
            continue;
        }
        if !claims.grants(import) {
            return Err(ImportError::Unclaimed {
                import: import.to_owned(),
                capability: unversioned(import).to_owned(),
            });
        }
        return Err(ImportError::Unavailable {
            import: import.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_wire::claims::ActorMetadata;

    fn claims(caps: &[&str]) -> Claims {
        Claims {
            iss: String::new(),
            sub: String::new(),
            iat: 0,
            exp: None,
            nbf: None,
            jti: String::new(),
            floe: ActorMetadata {
                v: 1,
                hash: String::new(),
                name: "t".into(),
                version: "1".into(),
                revision: 0,
                caps: caps.iter().map(|c| c.parse().expect("cap")).collect(),
                tags: vec![],
            },
        }
    }

    #[test]
    fn wasi_is_always_linked_and_the_rest_needs_a_claim() {
        let wasi = ["wasi:io/streams@0.2.0", "wasi:cli/stdout@0.2.3"];
        assert_eq!(check(wasi, &claims(&[])), Ok(()));
        let err = check(["wasi:keyvalue/store@0.2.0-draft"], &claims(&[])).unwrap_err();
        assert!(
            err.to_string().contains("--cap wasi:keyvalue/store"),
            "{err}"
        );
        let err = check(
            ["wasi:keyvalue/store@0.2.0-draft"],
            &claims(&["wasi:keyvalue"]),
        )
        .unwrap_err();
        assert!(matches!(err, ImportError::Unavailable { .. }));
    }
}
