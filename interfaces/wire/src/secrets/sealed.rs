//! One secret as stored: [`SealedSecret`], its value boxed (X25519 +
//! XSalsa20-Poly1305, nkeys xkeys) to a secrets key by a sender key made
//! for this seal alone, together with its name, version and allow-list,
//! beside a clear copy of the same metadata (for `floe secret list`,
//! which holds no key). Opening checks the boxed copy against the clear
//! one, so a box moved to another name, version or allow-list does not
//! open. The lattice MAC covers the whole entry besides (floe-lattice).

use nkeys::XKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{SecretError, SecretValue, SecretsKey, SecretsKeyRing};

/// A secret as the secrets bucket stores it (JSON, then sealed by the
/// lattice key). Holds no value in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    #[serde(default = "first_format")]
    pub v: u16,
    pub name: String,
    /// 1 for the first value, one more for each `put`.
    pub version: u64,
    /// Who may read it: actor and provider ids, actor names.
    pub allow: Vec<String>,
    /// The id (public key) of the secrets key it is sealed to.
    pub key: String,
    /// The public key of the sender key made for this seal.
    pub sender: String,
    /// When the value was put (Unix milliseconds; a re-seal keeps it).
    pub put_ms: u64,
    /// The box: name, version, allow-list and value.
    #[serde(with = "base64_bytes")]
    pub sealed: Vec<u8>,
}

fn first_format() -> u16 {
    1
}

/// What the box holds, written.
#[derive(Serialize)]
struct BoxedRef<'a> {
    name: &'a str,
    version: u64,
    allow: &'a [String],
    #[serde(with = "serde_bytes")]
    value: &'a [u8],
}

/// What the box holds, read back.
#[derive(Deserialize)]
struct Boxed {
    name: String,
    version: u64,
    allow: Vec<String>,
    #[serde(with = "serde_bytes")]
    value: Vec<u8>,
}

/// Seals `value` as version `version` of `name`, readable by `allow`, to
/// the secrets key `to` (its public half is enough).
pub fn seal(
    name: &str,
    version: u64,
    allow: Vec<String>,
    value: &SecretValue,
    to: &SecretsKey,
    put_ms: u64,
) -> Result<SealedSecret, SecretError> {
    let plain = Zeroizing::new(
        rmp_serde::to_vec(&BoxedRef {
            name,
            version,
            allow: &allow,
            value: value.expose(),
        })
        .map_err(|e| SecretError::Seal {
            name: name.to_owned(),
            reason: e.to_string(),
        })?,
    );
    let sender = SecretsKey::ephemeral();
    let sealed = sender
        .seal(&plain, to.xkey())
        .map_err(|e| SecretError::Seal {
            name: name.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(SealedSecret {
        v: 1,
        name: name.to_owned(),
        version,
        allow,
        key: to.id().to_owned(),
        sender: sender.public_key(),
        put_ms,
        sealed,
    })
}

impl SealedSecret {
    /// The value, if a key of `ring` opens the box and the box holds this
    /// entry's own name, version and allow-list.
    pub fn open(&self, ring: &SecretsKeyRing) -> Result<SecretValue, SecretError> {
        let tampered = || SecretError::Tampered {
            name: self.name.clone(),
        };
        let key = ring.find(&self.key).ok_or_else(|| SecretError::NoKey {
            name: self.name.clone(),
            key: self.key.clone(),
        })?;
        let sender = XKey::from_public_key(&self.sender).map_err(|_| tampered())?;
        let plain = Zeroizing::new(
            key.xkey()
                .open(&self.sealed, &sender)
                .map_err(|_| tampered())?,
        );
        let boxed: Boxed = rmp_serde::from_slice(&plain).map_err(|_| tampered())?;
        let value = SecretValue::new(boxed.value).map_err(|_| tampered())?;
        if boxed.name != self.name || boxed.version != self.version || boxed.allow != self.allow {
            return Err(SecretError::Moved {
                name: self.name.clone(),
                boxed: format!("{} version {}", boxed.name, boxed.version),
            });
        }
        Ok(value)
    }

    /// The same secret sealed to `to`, opened with `ring` (a key rotation).
    pub fn reseal(&self, ring: &SecretsKeyRing, to: &SecretsKey) -> Result<Self, SecretError> {
        let value = self.open(ring)?;
        seal(
            &self.name,
            self.version,
            self.allow.clone(),
            &value,
            to,
            self.put_ms,
        )
    }
}

/// Bytes as standard base64 in JSON.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(bytes: &[u8]) -> SecretValue {
        SecretValue::new(bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let key = SecretsKey::generate();
        let other = SecretsKey::generate();
        let sealed = seal("db", 1, vec!["api".into()], &value(b"s3cret"), &key, 7).unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains("s3cret"));
        let back: SealedSecret = serde_json::from_str(&json).unwrap();
        let ring = SecretsKeyRing::new(vec![key.clone()]);
        assert_eq!(back.open(&ring).unwrap().expose(), b"s3cret");
        let wrong = SecretsKeyRing::new(vec![other.clone()]);
        assert!(matches!(back.open(&wrong), Err(SecretError::NoKey { .. })));
        // The public half seals but does not open.
        let public = SecretsKey::from_public_key(key.id()).unwrap();
        let by_public = seal("db", 2, vec!["api".into()], &value(b"x"), &public, 8).unwrap();
        assert!(by_public.open(&ring).is_ok());
        let public_ring = SecretsKeyRing::new(vec![public]);
        assert!(matches!(
            by_public.open(&public_ring),
            Err(SecretError::Tampered { .. })
        ));
    }

    #[test]
    fn a_box_moved_to_another_name_version_or_allow_list_does_not_open() {
        let key = SecretsKey::generate();
        let ring = SecretsKeyRing::new(vec![key.clone()]);
        let sealed = seal("db", 3, vec!["api".into()], &value(b"v"), &key, 0).unwrap();
        for moved in [
            SealedSecret {
                name: "other".into(),
                ..sealed.clone()
            },
            SealedSecret {
                version: 4,
                ..sealed.clone()
            },
            SealedSecret {
                allow: vec!["api".into(), "evil".into()],
                ..sealed.clone()
            },
        ] {
            assert!(matches!(moved.open(&ring), Err(SecretError::Moved { .. })));
        }
        let mut flipped = sealed.clone();
        let last = flipped.sealed.len() - 1;
        flipped.sealed[last] ^= 1;
        assert!(matches!(
            flipped.open(&ring),
            Err(SecretError::Tampered { .. })
        ));
    }

    #[test]
    fn a_reseal_keeps_the_secret_and_names_the_new_key() {
        let (old, new) = (SecretsKey::generate(), SecretsKey::generate());
        let both = SecretsKeyRing::new(vec![old.clone(), new.clone()]);
        let sealed = seal("db", 2, vec!["api".into()], &value(b"v2"), &old, 5).unwrap();
        let moved = sealed.reseal(&both, &new).unwrap();
        assert_eq!(moved.key, new.id());
        assert_eq!((moved.version, moved.put_ms), (2, 5));
        let only_new = SecretsKeyRing::new(vec![new]);
        assert_eq!(moved.open(&only_new).unwrap().expose(), b"v2");
    }
}
