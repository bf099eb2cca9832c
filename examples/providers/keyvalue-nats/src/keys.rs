//! User keys to NATS KV keys and back. NATS keys allow only
//! `[-/_=.a-zA-Z0-9]` and no empty tokens, while a `wasi:keyvalue` key is
//! any string, so every key is stored as `k` + base64url (no padding) of its
//! UTF-8 bytes: reversible, and safe for every NATS server.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(key: &str) -> String {
    format!("k{}", URL_SAFE_NO_PAD.encode(key.as_bytes()))
}

/// The user key of a stored key; `None` for keys this provider did not write.
pub fn decode(stored: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(stored.strip_prefix('k')?).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips_into_the_nats_alphabet() {
        for key in [
            "",
            "a",
            "counter/a",
            "with space",
            "ünïcödé",
            "a.b.*.>",
            "==",
        ] {
            let stored = encode(key);
            assert!(
                stored
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)),
                "{stored}"
            );
            assert_eq!(decode(&stored).as_deref(), Some(key));
        }
        assert_eq!(decode("plain"), None);
    }
}
