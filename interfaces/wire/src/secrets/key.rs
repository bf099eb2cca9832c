//! The lattice's secrets keys: X25519 key pairs (nkeys xkeys, `SX…` seeds,
//! `X…` public keys). A key's id is its public key. By default a host's key
//! is derived from the cluster seed with a label of its own (as the lattice
//! MAC key is), so every holder of the seed can open the lattice's secrets;
//! `--secrets-key` gives chosen hosts a separate one.
//!
//! - secret = HMAC-SHA256(key = the seed's text `SC…`, "floe-secrets-key-1\n" + lattice)

use std::fmt;

use hmac::Mac as _;
use nkeys::XKey;
use zeroize::Zeroizing;

use super::SecretError;
use crate::auth::key::keyed;
use crate::lattice::LatticeId;

/// One secrets key: its private half when held, always its public key.
#[derive(Clone)]
pub struct SecretsKey {
    xkey: XKey,
    public: String,
}

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsKey")
            .field("id", &self.public)
            .finish_non_exhaustive()
    }
}

impl SecretsKey {
    /// The key of `lattice` derived from the cluster seed whose text is `seed`.
    pub fn derive(cluster_seed: &str, lattice: &LatticeId) -> Self {
        let mut derive = keyed(cluster_seed.trim().as_bytes());
        derive.update(b"floe-secrets-key-1\n");
        derive.update(lattice.as_str().as_bytes());
        let secret = Zeroizing::new(<[u8; 32]>::from(derive.finalize().into_bytes()));
        Self::from_xkey(XKey::new_from_raw(*secret))
    }

    /// A key from its seed (`SX…`).
    pub fn from_seed(seed: &str) -> Result<Self, SecretError> {
        let xkey = XKey::from_seed(seed.trim()).map_err(|e| SecretError::BadKey(e.to_string()))?;
        Ok(Self::from_xkey(xkey))
    }

    /// Only the public half (`X…`), to seal to.
    pub fn from_public_key(public: &str) -> Result<Self, SecretError> {
        let xkey =
            XKey::from_public_key(public.trim()).map_err(|e| SecretError::BadKey(e.to_string()))?;
        Ok(Self::from_xkey(xkey))
    }

    /// A new random key; its seed is for the operator to keep.
    pub fn generate() -> Self {
        Self::from_xkey(XKey::new())
    }

    /// A fresh sender key for one seal.
    pub(super) fn ephemeral() -> XKey {
        XKey::new()
    }

    fn from_xkey(xkey: XKey) -> Self {
        SecretsKey {
            public: xkey.public_key(),
            xkey,
        }
    }

    /// The key id: its public key.
    pub fn id(&self) -> &str {
        &self.public
    }

    /// The seed, to save (absent for a public-only key).
    pub fn seed(&self) -> Option<Zeroizing<String>> {
        self.xkey.seed().ok().map(Zeroizing::new)
    }

    pub(super) fn xkey(&self) -> &XKey {
        &self.xkey
    }
}

/// The secrets keys a host holds; entries sealed to any of them open.
#[derive(Debug, Clone, Default)]
pub struct SecretsKeyRing {
    keys: Vec<SecretsKey>,
}

impl SecretsKeyRing {
    pub fn new(keys: Vec<SecretsKey>) -> Self {
        let mut ring = SecretsKeyRing { keys: Vec::new() };
        for key in keys {
            if ring.find(key.id()).is_none() {
                ring.keys.push(key);
            }
        }
        ring
    }

    /// The held key whose id is `id`.
    pub fn find(&self, id: &str) -> Option<&SecretsKey> {
        self.keys.iter().find(|k| k.id() == id)
    }

    /// The ids of every held key, in the order given.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id().to_owned()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_key_depends_on_seed_and_lattice() {
        let seed = nkeys::KeyPair::new_cluster().seed().unwrap();
        let seed = seed.as_str();
        let a = SecretsKey::derive(seed, &"a".parse().unwrap());
        let again = SecretsKey::derive(seed, &"a".parse().unwrap());
        let b = SecretsKey::derive(seed, &"b".parse().unwrap());
        assert_eq!(a.id(), again.id());
        assert_ne!(a.id(), b.id());
        assert!(a.id().starts_with('X'));
        assert!(!format!("{a:?}").contains(a.seed().unwrap().as_str()));
    }

    #[test]
    fn seeds_round_trip_and_bad_keys_are_refused() {
        let key = SecretsKey::generate();
        let seed = key.seed().unwrap();
        assert!(seed.starts_with("SX"));
        assert_eq!(SecretsKey::from_seed(&seed).unwrap().id(), key.id());
        assert!(
            SecretsKey::from_public_key(key.id())
                .unwrap()
                .seed()
                .is_none()
        );
        assert!(matches!(
            SecretsKey::from_seed("SXnope"),
            Err(SecretError::BadKey(_))
        ));
        let ring = SecretsKeyRing::new(vec![key.clone(), key.clone()]);
        assert_eq!(ring.ids(), vec![key.id().to_owned()]);
    }
}
