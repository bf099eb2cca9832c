//! Signing code for tests and benchmarks: the same code under a fresh actor
//! id, claiming exactly the capabilities the caller names.

use floe_wire::KeyKind;
use floe_wire::claims::{self, SignRequest};

/// Signs `code` (signed or not: its claims are replaced) by `issuer` as a
/// new actor called `name` claiming `caps`; returns the actor id and the
/// signed bytes.
pub fn sign_as_new_actor(
    code: &[u8],
    issuer: &nkeys::KeyPair,
    name: &str,
    caps: &[&str],
) -> anyhow::Result<(String, Vec<u8>)> {
    let caps = caps
        .iter()
        .map(|c| {
            c.parse()
                .map_err(|e| anyhow::anyhow!("capability {c}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let subject = KeyKind::Actor.generate().public_key();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let signed = claims::sign(
        code,
        &SignRequest {
            issuer,
            subject: subject.clone(),
            name: name.to_owned(),
            version: "0.1.0".to_owned(),
            revision: 1,
            caps,
            tags: vec![],
            now,
            not_before: None,
            expires: None,
        },
    )?;
    Ok((subject, signed))
}
