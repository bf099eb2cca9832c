//! `$FLOE_HOME` and the seeds saved in it.
//!
//! Floe keeps its local state under one directory: `$FLOE_HOME`, or `~/.floe`
//! when unset. Seeds live in `$FLOE_HOME/keys/NAME.nk`, one per file, readable
//! by the owner only (mode 0600 in a 0700 directory). Commands that take a key
//! accept either a saved name or a seed; [`KeyStore::resolve`] decides which.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nkeys::KeyPair;

use crate::keys::{self, KeyError, KeyKind};

/// The root of Floe's local state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloeHome {
    root: PathBuf,
}

impl FloeHome {
    /// `$FLOE_HOME` when set and not empty, else `$HOME/.floe`.
    pub fn from_env() -> Result<Self, KeyStoreError> {
        if let Some(dir) = std::env::var_os("FLOE_HOME").filter(|d| !d.is_empty()) {
            return Ok(Self::at(dir));
        }
        let home = std::env::var_os("HOME")
            .filter(|d| !d.is_empty())
            .ok_or(KeyStoreError::NoHome)?;
        Ok(Self::at(Path::new(&home).join(".floe")))
    }

    /// A home at an explicit directory.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The saved keys under this home.
    pub fn keys(&self) -> KeyStore {
        KeyStore {
            dir: self.root.join("keys"),
        }
    }
}

/// The seeds saved under `$FLOE_HOME/keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStore {
    dir: PathBuf,
}

/// One saved key, as listed (never the seed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedKey {
    pub name: String,
    pub kind: Option<KeyKind>,
    pub public_key: String,
    pub path: PathBuf,
}

/// Where a resolved key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A seed given literally.
    Literal,
    /// A seed saved under this name.
    Saved(PathBuf),
}

/// Why a key could not be saved, found or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("neither FLOE_HOME nor HOME is set; set FLOE_HOME to a directory Floe may use")]
    NoHome,
    #[error(
        "`{0}` is not a valid key name: use letters, digits, `_`, `-` and `.` (at most 64, not starting with `.`)"
    )]
    InvalidName(String),
    #[error(
        "a key named `{name}` is already saved at {path}; choose another name or delete that file"
    )]
    AlreadyExists { name: String, path: PathBuf },
    #[error("no key named `{name}` in {dir} (see `floe keys list`, or pass a seed)")]
    NotFound { name: String, dir: PathBuf },
    #[error("the file {path} does not hold a valid seed: {source}")]
    Corrupt { path: PathBuf, source: KeyError },
    #[error("saved key `{name}` is {found}, but {expected} key is needed here")]
    WrongKind {
        name: String,
        expected: KeyKind,
        found: String,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl KeyStore {
    /// The directory holding the seeds.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a key of this name is saved in.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, KeyStoreError> {
        validate_name(name)?;
        Ok(self.dir.join(format!("{name}.nk")))
    }

    /// Saves a seed under `name`, refusing to overwrite an existing key.
    pub fn save(&self, name: &str, pair: &KeyPair) -> Result<PathBuf, KeyStoreError> {
        let path = self.path_of(name)?;
        let seed = pair.seed().map_err(|_| KeyError::InvalidSeed)?;
        create_private_dir(&self.dir)?;
        let mut file = open_new_private(&path).map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => KeyStoreError::AlreadyExists {
                name: name.to_owned(),
                path: path.clone(),
            },
            _ => KeyStoreError::Io {
                action: "create",
                path: path.clone(),
                source,
            },
        })?;
        file.write_all(format!("{seed}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| KeyStoreError::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }

    /// Loads the key saved under `name`.
    pub fn load(&self, name: &str) -> Result<KeyPair, KeyStoreError> {
        let path = self.path_of(name)?;
        let text = fs::read_to_string(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => KeyStoreError::NotFound {
                name: name.to_owned(),
                dir: self.dir.clone(),
            },
            _ => KeyStoreError::Io {
                action: "read",
                path: path.clone(),
                source,
            },
        })?;
        KeyPair::from_seed(text.trim()).map_err(|_| KeyStoreError::Corrupt {
            path,
            source: KeyError::InvalidSeed,
        })
    }

    /// Loads `name` if saved, else generates a key of `kind` and saves it.
    /// Returns the key and whether it was created.
    pub fn load_or_create(
        &self,
        name: &str,
        kind: KeyKind,
    ) -> Result<(KeyPair, bool), KeyStoreError> {
        match self.load_kind(name, kind) {
            Ok(pair) => Ok((pair, false)),
            Err(KeyStoreError::NotFound { .. }) => {
                let pair = kind.generate();
                self.save(name, &pair)?;
                Ok((pair, true))
            }
            Err(other) => Err(other),
        }
    }

    /// Loads `name` and checks that it is of `kind`.
    pub fn load_kind(&self, name: &str, kind: KeyKind) -> Result<KeyPair, KeyStoreError> {
        let pair = self.load(name)?;
        match KeyKind::of(&pair) {
            Some(found) if found == kind => Ok(pair),
            found => Err(KeyStoreError::WrongKind {
                name: name.to_owned(),
                expected: kind,
                found: found.map_or_else(|| "of another kind".to_owned(), |k| format!("{k} key")),
            }),
        }
    }

    /// Turns `NAME|SEED` into a key of `kind`: a literal seed when the text
    /// is one, else the key saved under that name.
    pub fn resolve(
        &self,
        name_or_seed: &str,
        kind: KeyKind,
    ) -> Result<(KeyPair, KeySource), KeyStoreError> {
        if keys::looks_like_seed(name_or_seed.trim()) {
            let pair = keys::parse_seed(name_or_seed, kind)?;
            return Ok((pair, KeySource::Literal));
        }
        let pair = self.load_kind(name_or_seed, kind)?;
        Ok((pair, KeySource::Saved(self.path_of(name_or_seed)?)))
    }

    /// Every saved key, sorted by name. Files that do not hold a seed are
    /// listed with no kind rather than hidden.
    pub fn list(&self) -> Result<Vec<SavedKey>, KeyStoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(KeyStoreError::Io {
                    action: "list",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".nk"))
            else {
                continue;
            };
            let (kind, public_key) = match self.load(name) {
                Ok(pair) => (KeyKind::of(&pair), pair.public_key()),
                Err(_) => (None, "(unreadable)".to_owned()),
            };
            keys.push(SavedKey {
                name: name.to_owned(),
                kind,
                public_key,
                path,
            });
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }
}

/// Key names become file names: keep them to a safe alphabet.
pub fn validate_name(name: &str) -> Result<(), KeyStoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(KeyStoreError::InvalidName(name.to_owned()))
    }
}

/// Turns any text (an actor's name, a binary's file name) into a valid key name.
pub fn sanitize_name(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), KeyStoreError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| KeyStoreError::Io {
            action: "create directory",
            path: dir.to_owned(),
            source,
        })
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), KeyStoreError> {
    fs::create_dir_all(dir).map_err(|source| KeyStoreError::Io {
        action: "create directory",
        path: dir.to_owned(),
        source,
    })
}

#[cfg(unix)]
fn open_new_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_new_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_list_and_refuse_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FloeHome::at(dir.path()).keys();
        let pair = KeyKind::Account.generate();
        let path = store.save("issuer", &pair).expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = store.load("issuer").expect("load");
        assert_eq!(loaded.public_key(), pair.public_key());
        assert!(matches!(
            store.save("issuer", &KeyKind::Account.generate()),
            Err(KeyStoreError::AlreadyExists { .. })
        ));
        let listed = store.list().expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].public_key, pair.public_key());
        assert_eq!(listed[0].kind, Some(KeyKind::Account));
    }

    #[test]
    fn resolve_takes_seeds_or_names_and_checks_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FloeHome::at(dir.path()).keys();
        let pair = KeyKind::Account.generate();
        let seed = pair.seed().expect("seed");
        let (lit, src) = store.resolve(&seed, KeyKind::Account).expect("literal");
        assert_eq!(lit.public_key(), pair.public_key());
        assert_eq!(src, KeySource::Literal);
        store.save("acct", &pair).expect("save");
        let (named, _) = store.resolve("acct", KeyKind::Account).expect("named");
        assert_eq!(named.public_key(), pair.public_key());
        assert!(matches!(
            store.resolve("acct", KeyKind::Actor),
            Err(KeyStoreError::WrongKind { .. })
        ));
        assert!(matches!(
            store.resolve("missing", KeyKind::Actor),
            Err(KeyStoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.resolve("../etc/passwd", KeyKind::Actor),
            Err(KeyStoreError::InvalidName(_))
        ));
    }

    #[test]
    fn load_or_create_is_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FloeHome::at(dir.path()).keys();
        let (first, created) = store.load_or_create("a", KeyKind::Actor).expect("create");
        assert!(created);
        let (again, created) = store.load_or_create("a", KeyKind::Actor).expect("load");
        assert!(!created);
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(sanitize_name("My Actor!"), "my-actor-");
    }
}
