//! Secret names, the KV keys they are stored under, and allow-lists: who
//! may read a secret (actor and provider ids, or actor names).

use super::SecretError;

/// The KV key prefix of secrets in the secrets bucket.
pub const SECRET_KEY_PREFIX: &str = "secret.";

/// The allow-list entry of hosts serving ingress (a route's TLS
/// certificate and key); `@` keeps it apart from every actor name.
pub const INGRESS_READER: &str = "@ingress";

/// The longest secret name.
pub const MAX_NAME_LEN: usize = 64;

/// The KV key of the secret `name`.
pub fn secret_key(name: &str) -> String {
    format!("{SECRET_KEY_PREFIX}{name}")
}

/// The name a KV key of the secrets bucket stores, if it is a secret's.
pub fn name_of_key(key: &str) -> Option<&str> {
    key.strip_prefix(SECRET_KEY_PREFIX)
}

/// Checks a secret name: 1 to 64 of `A-Z a-z 0-9 _ -`, a letter or digit
/// first (it is a KV key and a word in a command line).
pub fn check_name(name: &str) -> Result<(), SecretError> {
    let fits = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if fits {
        Ok(())
    } else {
        Err(SecretError::BadName(name.to_owned()))
    }
}

/// Checks an allow-list: not empty, each entry an actor id (`M…`), a
/// provider id (`V…`), `@ingress` (hosts serving ingress) or an actor name (the `name` of its claims: 1 to 64
/// of `A-Z a-z 0-9 . _ -`). Returns it sorted, without duplicates.
pub fn check_allow(allow: &[String]) -> Result<Vec<String>, SecretError> {
    if allow.is_empty() {
        return Err(SecretError::NobodyAllowed);
    }
    let mut sorted = Vec::with_capacity(allow.len());
    for entry in allow {
        let entry = entry.trim();
        let is_id = entry.len() == 56
            && (entry.starts_with('M') || entry.starts_with('V'))
            && entry
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let is_name = !entry.is_empty()
            && entry.len() <= MAX_NAME_LEN
            && entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !is_id && !is_name && entry != INGRESS_READER {
            return Err(SecretError::BadAllowEntry(entry.to_owned()));
        }
        sorted.push(entry.to_owned());
    }
    sorted.sort();
    sorted.dedup();
    Ok(sorted)
}

/// Whether `allow` lets the entity `id` (named `name`, for an actor) read.
pub fn allows(allow: &[String], id: &str, name: Option<&str>) -> bool {
    allow
        .iter()
        .any(|entry| entry == id || name.is_some_and(|n| n == entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kv_keys_and_words() {
        for good in ["db", "db_password", "A-1", "x"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in ["", "-db", "db.pass", "db pass", "db/x", "é", long.as_str()] {
            assert!(
                matches!(check_name(bad), Err(SecretError::BadName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn allow_lists_name_somebody() {
        let actor = format!("M{}", "A".repeat(55));
        let allow = check_allow(&[" api ".into(), actor.clone(), "api".into()]).unwrap();
        assert_eq!(allow, vec![actor.clone(), "api".to_owned()]);
        assert!(matches!(check_allow(&[]), Err(SecretError::NobodyAllowed)));
        assert!(matches!(
            check_allow(&["".into()]),
            Err(SecretError::BadAllowEntry(_))
        ));
        assert!(matches!(
            check_allow(&["a b".into()]),
            Err(SecretError::BadAllowEntry(_))
        ));
        assert!(allows(&allow, &actor, None));
        assert!(allows(&allow, "MOTHER", Some("api")));
        assert!(!allows(&allow, "MOTHER", Some("web")));
    }
}
