//! Contexts, like kubectl's: named sets of connection settings (NATS URL,
//! lattice, credentials, cluster seed) kept in `$FLOE_HOME/config.toml`,
//! one of them current. A flag or its `FLOE_…` variable always wins over
//! the context; the context wins over the built-in defaults (and, for the
//! cluster seed, over the seed saved under `$FLOE_HOME`).
//!
//! ```toml
//! current-context = "prod"
//!
//! [contexts.prod]
//! nats-url = "nats://10.0.0.5:4222"
//! lattice = "default"
//! creds = "/etc/floe/ops.creds"
//! cluster-seed = "prod"        # a key saved under $FLOE_HOME/keys, or SC…
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's name under `$FLOE_HOME`.
pub const CONFIG_FILE: &str = "config.toml";

/// One context's settings; unset ones fall back to the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lattice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creds: Option<PathBuf>,
    /// A seed's saved name or the seed itself (`SC…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_seed: Option<String>,
}

/// Every context, and which is current.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Contexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// Why contexts cannot be read, changed or used.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error(
        "{path} is not a valid contexts file: {reason} (fix it, or move it away to start over)"
    )]
    Parse { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error(
        "no context named `{name}` (known: {known}; add one with `floe context add {name} --nats-url …`)"
    )]
    Unknown { name: String, known: String },
    #[error("`{0}` is not a context name: use letters, digits, `-`, `_` or `.`")]
    BadName(String),
}

impl Contexts {
    /// The contexts saved under `home` (none when the file does not exist).
    pub fn load(home: &Path) -> Result<Self, ContextError> {
        let path = home.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ContextError::Parse {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contexts::default()),
            Err(e) => Err(ContextError::Read {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Saves to `home`, readable by its owner only (a context may hold a
    /// seed).
    pub fn save(&self, home: &Path) -> Result<PathBuf, ContextError> {
        let path = home.join(CONFIG_FILE);
        let failed = |e: &dyn std::fmt::Display| ContextError::Write {
            path: path.clone(),
            reason: e.to_string(),
        };
        let text = toml::to_string_pretty(self).map_err(|e| failed(&e))?;
        std::fs::create_dir_all(home).map_err(|e| failed(&e))?;
        // A partial file of this process alone, owner-only even if a
        // leftover existed, renamed over the file once complete.
        let partial = home.join(format!("{CONFIG_FILE}.{}.partial", std::process::id()));
        {
            use std::io::Write as _;
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&partial)
                .map_err(|e| failed(&e))?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| failed(&e))?;
            file.write_all(text.as_bytes()).map_err(|e| failed(&e))?;
        }
        std::fs::rename(&partial, &path).map_err(|e| failed(&e))?;
        Ok(path)
    }

    /// Adds or replaces the context `name`.
    pub fn put(&mut self, name: &str, context: Context) -> Result<(), ContextError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(ContextError::BadName(name.to_owned()));
        }
        self.contexts.insert(name.to_owned(), context);
        Ok(())
    }

    /// Makes `name` current.
    pub fn use_context(&mut self, name: &str) -> Result<(), ContextError> {
        self.get(name)?;
        self.current_context = Some(name.to_owned());
        Ok(())
    }

    /// Removes `name` (and clears the current context if it was that one).
    pub fn remove(&mut self, name: &str) -> Result<Context, ContextError> {
        let removed = self.get(name)?.clone();
        self.contexts.remove(name);
        if self.current_context.as_deref() == Some(name) {
            self.current_context = None;
        }
        Ok(removed)
    }

    /// The context `name`.
    pub fn get(&self, name: &str) -> Result<&Context, ContextError> {
        self.contexts
            .get(name)
            .ok_or_else(|| ContextError::Unknown {
                name: name.to_owned(),
                known: if self.contexts.is_empty() {
                    "none".to_owned()
                } else {
                    self.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            })
    }

    /// The context in force: `name` when given (`--context`,
    /// `FLOE_CONTEXT`), else the current one, else none.
    pub fn active(&self, name: Option<&str>) -> Result<Option<(&str, &Context)>, ContextError> {
        match name.or(self.current_context.as_deref()) {
            Some(name) => {
                let context = self.get(name)?;
                let (key, _) = self
                    .contexts
                    .get_key_value(name)
                    .ok_or_else(|| ContextError::BadName(name.to_owned()))?;
                Ok(Some((key.as_str(), context)))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_round_trip_and_name_the_known_ones() {
        let home = tempfile::tempdir().expect("home");
        assert_eq!(
            Contexts::load(home.path()).expect("none yet"),
            Contexts::default()
        );
        let mut contexts = Contexts::default();
        contexts
            .put(
                "prod",
                Context {
                    nats_url: Some("nats://10.0.0.5:4222".into()),
                    lattice: Some("blue".into()),
                    creds: None,
                    cluster_seed: Some("prod".into()),
                },
            )
            .expect("put");
        contexts.use_context("prod").expect("use");
        let path = contexts.save(home.path()).expect("save");
        let mode = std::fs::metadata(&path).expect("meta").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("current-context = \"prod\""), "{text}");
        assert!(
            text.contains("nats-url = \"nats://10.0.0.5:4222\""),
            "{text}"
        );
        let loaded = Contexts::load(home.path()).expect("load");
        assert_eq!(loaded, contexts);
        let (name, active) = loaded.active(None).expect("ok").expect("current");
        assert_eq!((name, active.lattice.as_deref()), ("prod", Some("blue")));
        let err = loaded.active(Some("dev")).expect_err("unknown");
        assert!(err.to_string().contains("known: prod"), "{err}");
        assert!(contexts.put("a b", Context::default()).is_err());
        contexts.remove("prod").expect("remove");
        assert_eq!(contexts.current_context, None);
        std::fs::write(&path, "bogus = 1").expect("write");
        let err = Contexts::load(home.path()).expect_err("unknown field");
        assert!(
            err.to_string().contains("not a valid contexts file"),
            "{err}"
        );
    }
}
