//! An actor's imports checked against its claims before it starts, so that
//! a refusal names the interface. The import classes themselves (DESIGN.md
//! "Security") are `floe_wire::claims::imports`, shared with the CLI.
//! Routed imports that use resources are refused too: a resource cannot
//! cross the wire.

use floe_wire::Claims;
pub use floe_wire::claims::imports::{ImportClass, OUTGOING_HTTP, class_of, unversioned};

/// One import as the check sees it.
#[derive(Debug, Clone, Copy)]
pub struct Import<'a> {
    pub name: &'a str,
    /// The imported interface declares resource types.
    pub uses_resources: bool,
}

/// Why an actor's imports keep it from starting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(
        "imports {import}, which its claims do not list (re-sign it with `--cap {capability}`)"
    )]
    Unclaimed { import: String, capability: String },
    #[error(
        "imports {import}, which uses resources: a resource cannot cross the wire to a linked entity"
    )]
    UsesResources { import: String },
}

/// Checks every import of a component against its claims.
pub fn check<'a>(
    imports: impl IntoIterator<Item = Import<'a>>,
    claims: &Claims,
) -> Result<(), ImportError> {
    for import in imports {
        let name = import.name;
        let class = class_of(name);
        if class == ImportClass::Wasi {
            continue;
        }
        if !claims.grants(name) {
            return Err(ImportError::Unclaimed {
                import: name.to_owned(),
                capability: unversioned(name).to_owned(),
            });
        }
        if class == ImportClass::Routed && import.uses_resources {
            return Err(ImportError::UsesResources {
                import: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// Claims granting `caps`, for tests across the runtime.
#[cfg(test)]
pub(crate) fn test_claims(caps: &[&str]) -> Claims {
    Claims {
        iss: String::new(),
        sub: "MTEST".into(),
        iat: 0,
        exp: None,
        nbf: None,
        jti: String::new(),
        floe: floe_wire::claims::ActorMetadata {
            v: 1,
            hash: "sha256:00".into(),
            name: "test".into(),
            version: "1".into(),
            revision: 0,
            caps: caps
                .iter()
                .map(|c| c.parse().expect("test capability"))
                .collect(),
            tags: vec![],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_is_always_linked_and_the_rest_needs_a_claim() {
        let plain = |name| Import {
            name,
            uses_resources: false,
        };
        let wasi = [
            plain("wasi:io/streams@0.2.0"),
            plain("wasi:cli/stdout@0.2.3"),
        ];
        assert_eq!(check(wasi, &test_claims(&[])), Ok(()));
        let kv = [plain("wasi:keyvalue/store@0.2.0-draft")];
        let err = check(kv, &test_claims(&[])).expect_err("unclaimed");
        assert!(
            err.to_string().contains("--cap wasi:keyvalue/store"),
            "{err}"
        );
        assert_eq!(check(kv, &test_claims(&["wasi:keyvalue"])), Ok(()));
        // Outgoing HTTP links for everyone; the claim is checked per call.
        let http = [
            plain("wasi:http/types@0.2.4"),
            plain("wasi:http/outgoing-handler@0.2.0"),
        ];
        assert_eq!(check(http, &test_claims(&[])), Ok(()));
        let always = [
            plain("wasi:config/store@0.2.0-rc.1"),
            plain("wasi:logging/logging@0.1.0-draft"),
            plain("floe:host/link@0.1.0"),
        ];
        assert_eq!(check(always, &test_claims(&[])), Ok(()));
        let greet = [plain("acme:greet/greeter@0.1.0")];
        assert!(
            check(greet, &test_claims(&[])).is_err(),
            "routed imports need a claim"
        );
        assert_eq!(check(greet, &test_claims(&["acme:greet"])), Ok(()));
        let with_resources = [Import {
            name: "acme:files/handle",
            uses_resources: true,
        }];
        assert!(matches!(
            check(with_resources, &test_claims(&["acme:files"])),
            Err(ImportError::UsesResources { .. })
        ));
    }
}
