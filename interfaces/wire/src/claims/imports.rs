//! The import classes of DESIGN.md "Security", one implementation for the
//! host (which checks an actor's imports against its claims before it
//! starts) and the CLI (`floe build` claims exactly what a component
//! imports that needs a claim).
//!
//! 1. WASI 0.2 and 0.3 (io, clocks, random, cli, filesystem, sockets,
//!    http): always linked, with a context that grants nothing dangerous.
//!    An outgoing HTTP request (0.2's `outgoing-handler`, 0.3's `client`)
//!    is refused at call time unless the claims grant
//!    `wasi:http/outgoing-handler`, so a standard component that merely
//!    links it still starts.
//! 2. Host-provided capabilities (`wasi:keyvalue`): need a claim.
//!    `wasi:config`, `wasi:logging` and Floe's own small host interfaces
//!    (`floe:host`) are always granted.
//! 3. Everything else: routed by link to another entity; needs a claim.

use wasmparser::{Parser, Payload};

/// WASI packages every actor gets (class 1).
const ALWAYS_LINKED: &[&str] = &[
    "wasi:io",
    "wasi:clocks",
    "wasi:random",
    "wasi:cli",
    "wasi:filesystem",
    "wasi:sockets",
    "wasi:http",
];

/// Host-provided packages (class 2) granted to every actor: the config it
/// was started with, logging, and Floe's own host interfaces.
const FLOE_HOST: &[&str] = &["wasi:config", "wasi:logging", "floe:host"];

/// Host-provided packages (class 2) an actor must claim.
const HOST_PROVIDED: &[&str] = &["wasi:keyvalue"];

/// The import whose claim lets an actor make outgoing HTTP requests.
pub const OUTGOING_HTTP: &str = "wasi:http/outgoing-handler";

/// WASI 0.3's outgoing HTTP interface: the same claim grants it.
const OUTGOING_HTTP_P3: &str = "wasi:http/client";

/// How an import is satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportClass {
    /// Linked for every actor without a claim: WASI 0.2 and 0.3
    /// (`wasi:http` included), `wasi:config`, `wasi:logging` and `floe:host`.
    Wasi,
    HostProvided,
    Routed,
}

/// The class of the import `ns:pkg/iface[@version]`.
pub fn class_of(import: &str) -> ImportClass {
    let package = package_of(import);
    if ALWAYS_LINKED.contains(&package) || FLOE_HOST.contains(&package) {
        ImportClass::Wasi
    } else if HOST_PROVIDED.contains(&package) {
        ImportClass::HostProvided
    } else {
        ImportClass::Routed
    }
}

/// `ns:pkg/iface` of an import name, without its version.
pub fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

fn package_of(name: &str) -> &str {
    let name = unversioned(name);
    name.split('/').next().unwrap_or(name)
}

/// What a capability claim grants, for people reading `floe build`'s list.
pub fn grant_of(capability: &str) -> &'static str {
    if capability == OUTGOING_HTTP {
        return "outgoing HTTP requests to any host";
    }
    match class_of(capability) {
        ImportClass::HostProvided => "the host's key-value store, through a link to a provider",
        ImportClass::Routed => "calls to whatever entity a link names for this interface",
        ImportClass::Wasi => "nothing beyond what every actor has",
    }
}

/// The capabilities a component with these imports must claim to start and
/// to use them: every host-provided and routed import, and outgoing HTTP
/// when imported (WASI 0.2's `outgoing-handler` or 0.3's `client`, both
/// granted by [`OUTGOING_HTTP`]); unversioned, sorted, each once.
pub fn needed_claims<'a>(imports: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut caps: Vec<String> = imports
        .into_iter()
        .filter_map(|i| match unversioned(i) {
            OUTGOING_HTTP | OUTGOING_HTTP_P3 => Some(OUTGOING_HTTP),
            _ if class_of(i) == ImportClass::Wasi => None,
            name => Some(name),
        })
        .map(str::to_owned)
        .collect();
    caps.sort();
    caps.dedup();
    caps
}

/// Why a component's imports could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportsError {
    #[error("not a WebAssembly component: {0}")]
    Malformed(String),
    #[error("a core WebAssembly module, not a component (build for wasm32-wasip2)")]
    CoreModule,
}

/// The names of a component's own imports (`wasi:keyvalue/store@0.2.0-draft`…),
/// not those of the modules and components nested inside it.
pub fn component_imports(bytes: &[u8]) -> Result<Vec<String>, ImportsError> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| ImportsError::Malformed(e.to_string()))? {
            Payload::Version { encoding, .. } if depth == 0 => {
                if encoding != wasmparser::Encoding::Component {
                    return Err(ImportsError::CoreModule);
                }
                depth += 1;
            }
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| ImportsError::Malformed(e.to_string()))?;
                    names.push(import.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_package() {
        assert_eq!(class_of("wasi:http/types@0.2.3"), ImportClass::Wasi);
        assert_eq!(class_of("wasi:config/store@0.2.0-draft"), ImportClass::Wasi);
        assert_eq!(
            class_of("wasi:keyvalue/store@0.2.0-draft"),
            ImportClass::HostProvided
        );
        assert_eq!(class_of("acme:greet/greeter"), ImportClass::Routed);
    }

    #[test]
    fn needed_claims_are_what_needs_one_each_once() {
        let caps = needed_claims([
            "wasi:io/streams@0.2.0",
            "wasi:keyvalue/atomics@0.2.0-draft",
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:http/outgoing-handler@0.2.0",
            "wasi:http/types@0.2.0",
            "wasi:http/client@0.3.0",
            "wasi:http/types@0.3.0",
            "wasi:cli/stdout@0.3.0",
            "acme:greet/greeter",
            "acme:greet/greeter@1.0.0",
            "wasi:logging/logging",
        ]);
        assert_eq!(
            caps,
            [
                "acme:greet/greeter",
                "wasi:http/outgoing-handler",
                "wasi:keyvalue/atomics",
                "wasi:keyvalue/store"
            ]
        );
    }

    #[test]
    fn a_component_lists_its_own_imports_and_a_module_is_named() {
        let component = wat::parse_str(
            r#"(component
                (import "acme:greet/greeter" (instance))
                (import "wasi:keyvalue/store@0.2.0-draft" (instance))
                (component (import "nested:only/inside" (instance)))
            )"#,
        )
        .expect("wat");
        assert_eq!(
            component_imports(&component).expect("imports"),
            ["acme:greet/greeter", "wasi:keyvalue/store@0.2.0-draft"]
        );
        let module = wat::parse_str("(module)").expect("wat");
        assert_eq!(component_imports(&module), Err(ImportsError::CoreModule));
        assert!(matches!(
            component_imports(b"not wasm"),
            Err(ImportsError::Malformed(_))
        ));
    }
}
