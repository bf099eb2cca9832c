//! Replay protection: a message is accepted only when its issued-at lies in
//! the window (default: at most 60 s old, at most 30 s ahead for clock skew)
//! and its nonce was not seen before within that window.
//!
//! The cache of seen nonces is bucketed by issued-at second, so expiring
//! old ones is cheap, and bounded: when it is full the oldest second is
//! forgotten and the window's floor rises past it — messages older than what
//! the cache still remembers are refused as stale. Under that pressure the
//! window shrinks; a replay is never accepted.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use super::AuthError;
use super::seal::Seal;

/// How old or new a message may be, and how many nonces to remember.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayPolicy {
    /// The oldest issued-at accepted, back from now.
    pub window: Duration,
    /// How far ahead of this clock a sender's may run.
    pub skew: Duration,
    /// Nonces remembered at most (about 20 bytes each).
    pub max_remembered: usize,
}

impl Default for ReplayPolicy {
    fn default() -> Self {
        ReplayPolicy {
            window: Duration::from_secs(60),
            skew: Duration::from_secs(30),
            max_remembered: 2_000_000,
        }
    }
}

/// The window check and nonce cache of one process.
#[derive(Debug)]
pub struct ReplayGuard {
    policy: ReplayPolicy,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// Messages issued before this are refused (raised under memory pressure).
    floor_ms: u64,
    by_second: BTreeMap<u64, HashSet<u128>>,
    count: usize,
}

impl ReplayGuard {
    pub fn new(policy: ReplayPolicy) -> Self {
        ReplayGuard {
            policy,
            seen: Mutex::new(Seen::default()),
        }
    }

    pub fn policy(&self) -> ReplayPolicy {
        self.policy
    }

    /// Checks that `seal` is fresh as of `now_ms` (only the issued-at: for
    /// state that is re-read, like KV entries).
    pub fn check_window(&self, issued_at_ms: u64, now_ms: u64) -> Result<(), AuthError> {
        let window = millis(self.policy.window);
        let skew = millis(self.policy.skew);
        if issued_at_ms > now_ms.saturating_add(skew) {
            return Err(AuthError::Future {
                ahead_ms: issued_at_ms - now_ms,
            });
        }
        if now_ms.saturating_sub(issued_at_ms) > window {
            return Err(AuthError::Stale {
                age_ms: now_ms - issued_at_ms,
            });
        }
        Ok(())
    }

    /// Admits a message once: within the window and never seen before.
    pub fn admit(&self, seal: &Seal, now_ms: u64) -> Result<(), AuthError> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The floor only rises: if this clock steps back, nonces already
        // forgotten cannot become acceptable again.
        let cutoff = now_ms.saturating_sub(millis(self.policy.window)) / 1000 * 1000;
        seen.floor_ms = seen.floor_ms.max(cutoff);
        let oldest_second = seen.floor_ms / 1000;
        while let Some(entry) = seen.by_second.first_entry() {
            if *entry.key() >= oldest_second {
                break;
            }
            let len = entry.remove().len();
            seen.count -= len;
        }
        self.check_window(seal.issued_at_ms, now_ms)?;
        if seal.issued_at_ms < seen.floor_ms {
            return Err(AuthError::Stale {
                age_ms: now_ms.saturating_sub(seal.issued_at_ms),
            });
        }
        let second = seal.issued_at_ms / 1000;
        if !seen.by_second.entry(second).or_default().insert(seal.nonce) {
            return Err(AuthError::Replayed);
        }
        seen.count += 1;
        while seen.count > self.policy.max_remembered {
            let Some((second, nonces)) = seen.by_second.pop_first() else {
                break;
            };
            seen.count -= nonces.len();
            seen.floor_ms = seen
                .floor_ms
                .max(second.saturating_add(1).saturating_mul(1000));
        }
        Ok(())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(issued_at_ms: u64, nonce: u128) -> Seal {
        Seal {
            issued_at_ms,
            nonce,
        }
    }

    #[test]
    fn a_nonce_is_admitted_once_within_the_window() {
        let guard = ReplayGuard::new(ReplayPolicy::default());
        let now = 1_000_000_000;
        assert_eq!(guard.admit(&seal(now, 1), now), Ok(()));
        assert_eq!(
            guard.admit(&seal(now, 1), now + 5),
            Err(AuthError::Replayed)
        );
        assert_eq!(guard.admit(&seal(now, 2), now), Ok(()));
        assert!(matches!(
            guard.admit(&seal(now - 61_000, 3), now),
            Err(AuthError::Stale { .. })
        ));
        assert!(matches!(
            guard.admit(&seal(now + 31_000, 4), now),
            Err(AuthError::Future { .. })
        ));
        assert_eq!(guard.admit(&seal(now + 29_000, 5), now), Ok(()));
        // Once out of the window a nonce is forgotten, and its message is stale.
        assert!(matches!(
            guard.admit(&seal(now, 1), now + 61_000),
            Err(AuthError::Stale { .. })
        ));
        // Even if this clock then steps back: the floor never falls.
        assert!(matches!(
            guard.admit(&seal(now, 1), now),
            Err(AuthError::Stale { .. })
        ));
    }

    #[test]
    fn a_full_cache_raises_the_floor_instead_of_forgetting_replays() {
        let guard = ReplayGuard::new(ReplayPolicy {
            max_remembered: 10,
            ..ReplayPolicy::default()
        });
        let now = 5_000_000;
        for i in 0..10u128 {
            // Two seconds' worth: 5 at now-2s, 5 at now.
            let at = if i < 5 { now - 2_000 } else { now };
            assert_eq!(guard.admit(&seal(at, i), now), Ok(()));
        }
        assert_eq!(guard.admit(&seal(now, 10), now), Ok(()));
        // The oldest second was forgotten; its replays are refused as stale.
        assert!(matches!(
            guard.admit(&seal(now - 2_000, 0), now),
            Err(AuthError::Stale { .. })
        ));
        assert_eq!(guard.admit(&seal(now, 5), now), Err(AuthError::Replayed));
    }
}
