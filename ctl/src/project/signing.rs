//! Signing a project's component as its actor: by the developer's issuer
//! key (`developer`, made and saved under `$FLOE_HOME` on first use), as
//! the project's own actor key (`NAME-actor`, likewise), claiming exactly
//! the capabilities its imports need (`floe_wire::claims::imports`), with a
//! revision one above the last signed build.

use std::path::{Path, PathBuf};

use floe_wire::claims::imports::{ImportsError, OUTGOING_HTTP, component_imports, needed_claims};
use floe_wire::claims::{self, Capability, SignRequest, VerifyPolicy};
use floe_wire::keys::KeyKind;
use floe_wire::keystore::{FloeHome, KeyStoreError};

use super::Project;

/// The issuer key `floe build` signs with unless told otherwise.
pub const DEVELOPER_ISSUER: &str = "developer";

/// A signed component.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Signed {
    pub path: PathBuf,
    pub actor_id: String,
    pub issuer: String,
    pub name: String,
    pub version: String,
    pub revision: u32,
    /// What the component claims, each with what it grants.
    pub claims: Vec<(String, &'static str)>,
    /// Keys made for this signing (first use), with where they were saved.
    pub new_keys: Vec<PathBuf>,
    /// What the developer should know about the claims.
    pub notes: Vec<String>,
}

/// Why a component could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Imports { path: PathBuf, source: ImportsError },
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    #[error("cannot sign {path}: {reason}")]
    Sign { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Where `floe build` writes the signed component of `project`.
pub fn signed_path(project: &Project) -> PathBuf {
    project
        .root
        .join("target")
        .join("floe")
        .join(format!("{}.wasm", project.name()))
}

/// Signs `component` as `project`'s actor, by the issuer saved as `issuer`.
pub fn sign(
    project: &Project,
    home: &FloeHome,
    issuer: &str,
    component: &Path,
) -> Result<Signed, SigningError> {
    let bytes = std::fs::read(component).map_err(|e| SigningError::Read {
        path: component.to_owned(),
        reason: e.to_string(),
    })?;
    let imports = component_imports(&bytes).map_err(|source| SigningError::Imports {
        path: component.to_owned(),
        source,
    })?;
    let mut caps = needed_claims(imports.iter().map(String::as_str));
    let mut notes = Vec::new();
    if !project.manifest.actor.outgoing_http && caps.iter().any(|c| c == OUTGOING_HTTP) {
        caps.retain(|c| c != OUTGOING_HTTP);
        notes.push(format!(
            "it imports {OUTGOING_HTTP}, not claimed: its outgoing requests are refused \
             unless floe.toml says `outgoing-http = true` under [actor]"
        ));
    }
    let store = home.keys();
    let mut new_keys = Vec::new();
    let (issuer_key, made) = store.load_or_create(issuer, KeyKind::Account)?;
    if made {
        new_keys.push(store.path_of(issuer)?);
    }
    let actor_key_name = format!("{}-actor", project.name());
    let (actor_key, made) = store.load_or_create(&actor_key_name, KeyKind::Actor)?;
    if made {
        new_keys.push(store.path_of(&actor_key_name)?);
    }
    let destination = signed_path(project);
    let subject = actor_key.public_key();
    let revision = previous_revision(&destination, &subject).map_or(1, |r| r.saturating_add(1));
    let sign_error = |reason: String| SigningError::Sign {
        path: component.to_owned(),
        reason,
    };
    let capabilities = caps
        .iter()
        .map(|c| {
            c.parse::<Capability>()
                .map_err(|e| sign_error(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let actor = &project.manifest.actor;
    let signed = claims::sign(
        &bytes,
        &SignRequest {
            issuer: &issuer_key,
            subject: subject.clone(),
            name: actor.name.clone(),
            version: actor.version.clone(),
            revision,
            caps: capabilities,
            tags: vec![],
            now,
            not_before: None,
            expires: None,
        },
    )
    .map_err(|e| sign_error(e.to_string()))?;
    claims::verify(&signed, now, &VerifyPolicy::default())
        .map_err(|e| sign_error(format!("the signed output does not verify: {e}")))?;
    if let Some(dir) = destination.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SigningError::Write {
            path: dir.to_owned(),
            reason: e.to_string(),
        })?;
    }
    std::fs::write(&destination, &signed).map_err(|e| SigningError::Write {
        path: destination.clone(),
        reason: e.to_string(),
    })?;
    Ok(Signed {
        path: destination,
        actor_id: subject,
        issuer: issuer_key.public_key(),
        name: actor.name.clone(),
        version: actor.version.clone(),
        revision,
        claims: caps
            .iter()
            .map(|c| (c.clone(), claims::imports::grant_of(c)))
            .collect(),
        new_keys,
        notes,
    })
}

/// The revision of the last build signed for `subject` at `path`.
fn previous_revision(path: &Path, subject: &str) -> Option<u32> {
    let bytes = std::fs::read(path).ok()?;
    let claims = claims::existing_claims(&bytes).ok()??;
    (claims.sub == subject).then_some(claims.floe.revision)
}
