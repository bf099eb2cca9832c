//! `list-keys` pages over a snapshot: the first page reads the bucket's
//! keys once, sorts them and keeps them as a listing; the cursor names that
//! listing and the position in it, so each later page is a slice, not
//! another full read (which made listing N keys O(N²)). Listings are few
//! and short-lived (bounded count, idle expiry). A cursor whose listing
//! this replica does not hold (another replica's, or expired) reads the keys
//! again and goes on from its position.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use futures::StreamExt as _;

use crate::{KvError, keys};

/// Keys listed per page of `list-keys`.
const PAGE: usize = 1000;
/// Listings kept at once.
const MAX_LISTINGS: usize = 64;
/// A listing not paged for this long is dropped.
const IDLE: Duration = Duration::from_secs(60);
/// The cursor's low bits hold the position; the high bits the listing id.
const POSITION_BITS: u32 = 32;

struct Listing {
    /// The bucket listed: a cursor is only ever followed in the bucket the
    /// caller was allowed to open for this page.
    bucket: String,
    keys: Arc<Vec<String>>,
    used: Instant,
}

/// The listings in progress.
#[derive(Default)]
pub struct Listings {
    held: Mutex<HashMap<u32, Listing>>,
}

impl Listings {
    /// One page of `kv`'s keys, sorted, from `cursor`; the next cursor while
    /// more remain.
    pub async fn page(
        &self,
        kv: &kv::Store,
        cursor: Option<u64>,
    ) -> Result<(Vec<String>, Option<u64>), KvError> {
        let (id, position) = match cursor {
            None => (None, 0),
            Some(c) => (
                u32::try_from(c >> POSITION_BITS).ok().filter(|id| *id != 0),
                usize::try_from(c & ((1 << POSITION_BITS) - 1)).unwrap_or(usize::MAX),
            ),
        };
        let bucket = kv.name.clone();
        let held = id.and_then(|id| self.take(id, &bucket));
        let (id, keys) = match (id, held) {
            (Some(id), Some(keys)) => (id, keys),
            _ => (new_id(), Arc::new(read_sorted(kv).await?)),
        };
        let start = position.min(keys.len());
        let end = (start + PAGE).min(keys.len());
        let page = keys[start..end].to_vec();
        if end >= keys.len() {
            self.lock().remove(&id);
            return Ok((page, None));
        }
        let next = (u64::from(id) << POSITION_BITS) | u64::try_from(end).unwrap_or(0);
        self.keep(id, bucket, keys);
        Ok((page, Some(next)))
    }

    /// The listing `id` of `bucket`, if held (another bucket's never is).
    fn take(&self, id: u32, bucket: &str) -> Option<Arc<Vec<String>>> {
        let mut held = self.lock();
        held.retain(|_, l| l.used.elapsed() < IDLE);
        held.get_mut(&id).filter(|l| l.bucket == bucket).map(|l| {
            l.used = Instant::now();
            l.keys.clone()
        })
    }

    fn keep(&self, id: u32, bucket: String, keys: Arc<Vec<String>>) {
        let mut held = self.lock();
        if held.len() >= MAX_LISTINGS
            && !held.contains_key(&id)
            && let Some(oldest) = held.iter().min_by_key(|(_, l)| l.used).map(|(id, _)| *id)
        {
            held.remove(&oldest);
        }
        held.insert(
            id,
            Listing {
                bucket,
                keys,
                used: Instant::now(),
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Listing>> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A listing id no caller can guess (from the OS's random source), never 0.
fn new_id() -> u32 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]).max(1)
}

async fn read_sorted(kv: &kv::Store) -> Result<Vec<String>, KvError> {
    let mut stream = kv.keys().await.map_err(|e| KvError::Other(e.to_string()))?;
    let mut all = Vec::new();
    while let Some(key) = stream.next().await {
        let key = key.map_err(|e| KvError::Other(e.to_string()))?;
        if let Some(user) = keys::decode(&key) {
            all.push(user);
        }
    }
    all.sort();
    Ok(all)
}
