//! The lattice key: derived from a cluster seed and a lattice id, so one seed
//! can serve several lattices without a message of one verifying in another.
//!
//! - key    = HMAC-SHA256(key = the seed's text `SC…`, "floe-lattice-key-1\n" + lattice)
//! - key id = hex of the first 6 bytes of SHA-256("floe-key-id-1\n" + key)
//!
//! The key id names a key without revealing it, so a receiver holding several
//! keys (during a rotation) knows which one to check.

use std::fmt;

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use super::AuthError;
use crate::lattice::LatticeId;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// One lattice key, ready to MAC with.
#[derive(Clone)]
pub struct LatticeKey {
    id: String,
    /// The key itself, for handing to the providers a host starts.
    secret: [u8; 32],
    /// The HMAC state after absorbing the key, cloned for every MAC (saves
    /// the two key-schedule compressions per message).
    keyed: HmacSha256,
}

impl fmt::Debug for LatticeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatticeKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl LatticeKey {
    /// The key of `lattice` under the cluster seed whose text is `seed`.
    pub fn derive(seed: &str, lattice: &LatticeId) -> Self {
        let mut derive = keyed(seed.trim().as_bytes());
        derive.update(b"floe-lattice-key-1\n");
        derive.update(lattice.as_str().as_bytes());
        let key: [u8; 32] = derive.finalize().into_bytes().into();
        Self::from_secret(key)
    }

    /// A key given as its 32 bytes (as a provider receives it).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let mut id_hash = Sha256::new();
        id_hash.update(b"floe-key-id-1\n");
        id_hash.update(secret);
        let digest = id_hash.finalize();
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        LatticeKey {
            id,
            secret,
            keyed: keyed(&secret),
        }
    }

    /// The key's 32 bytes: only for handing to a provider this host starts.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The key id carried next to every MAC.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A fresh MAC computation under this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }
}

pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// The keys one process uses: it seals with `signing` and accepts a MAC under
/// `signing` or any key in `accepted` (the old key while a seed is rotated
/// out, or the new one while it is rolled in).
#[derive(Debug, Clone)]
pub struct KeyRing {
    signing: LatticeKey,
    accepted: Vec<LatticeKey>,
}

impl KeyRing {
    pub fn new(signing: LatticeKey) -> Self {
        KeyRing {
            signing,
            accepted: Vec::new(),
        }
    }

    /// Also accept MACs under `key`.
    pub fn accept(mut self, key: LatticeKey) -> Self {
        if key.id != self.signing.id && !self.accepted.iter().any(|k| k.id == key.id) {
            self.accepted.push(key);
        }
        self
    }

    pub fn signing(&self) -> &LatticeKey {
        &self.signing
    }

    /// Every key, the signing key first.
    pub fn keys(&self) -> impl Iterator<Item = &LatticeKey> {
        std::iter::once(&self.signing).chain(&self.accepted)
    }

    /// The ids of every key accepted, the signing key's first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(self.signing.id())
            .chain(self.accepted.iter().map(LatticeKey::id))
            .collect()
    }

    /// The accepted key with this id.
    pub fn find(&self, key_id: &str) -> Result<&LatticeKey, AuthError> {
        std::iter::once(&self.signing)
            .chain(&self.accepted)
            .find(|k| k.id == key_id)
            .ok_or_else(|| AuthError::UnknownKey {
                key_id: key_id.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lattice(s: &str) -> LatticeId {
        s.parse().expect("lattice id")
    }

    #[test]
    fn derivation_depends_on_seed_and_lattice() {
        let seed = crate::KeyKind::Cluster.generate().seed().expect("seed");
        let other = crate::KeyKind::Cluster.generate().seed().expect("seed");
        let a = LatticeKey::derive(&seed, &lattice("default"));
        assert_eq!(a.id(), LatticeKey::derive(&seed, &lattice("default")).id());
        assert_ne!(a.id(), LatticeKey::derive(&seed, &lattice("prod")).id());
        assert_ne!(a.id(), LatticeKey::derive(&other, &lattice("default")).id());
        assert_eq!(a.id().len(), 12);
        assert!(!format!("{a:?}").contains(&seed));
    }

    #[test]
    fn a_ring_finds_only_its_keys() {
        let l = lattice("default");
        let old = LatticeKey::derive("SCold", &l);
        let new = LatticeKey::derive("SCnew", &l);
        let ring = KeyRing::new(new.clone())
            .accept(old.clone())
            .accept(old.clone());
        assert_eq!(ring.key_ids(), vec![new.id(), old.id()]);
        assert!(ring.find(old.id()).is_ok());
        assert_eq!(
            ring.find("000000000000").map(|k| k.id().to_owned()),
            Err(AuthError::UnknownKey {
                key_id: "000000000000".into()
            })
        );
    }
}
