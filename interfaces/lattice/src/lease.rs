//! The leader lease of the lattice's reconciler: one key in a bucket of its
//! own (`floe-{lattice}-lease`) whose `max_age` is the lease's TTL, because
//! nats-server 2.9 has no per-key TTL (DESIGN.md "Facts"). The holder renews
//! it by compare-and-set on the revision it wrote; a renewal that finds
//! another revision means the lease was lost. Others try to create the key
//! and succeed once it has expired, within one TTL of the holder's last
//! renewal.

use std::time::Duration;

use async_nats::jetstream::kv;
use floe_wire::LatticeId;
use serde::{Deserialize, Serialize};

use crate::auth::LatticeAuth;
use crate::bucket::{BucketError, open_kv_aged};
use crate::records::{self, RecordError};

const LEADER_KEY: &str = "leader";

/// What the lease key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    pub host_id: String,
    /// Unix milliseconds when this holder took the lease.
    pub since_ms: u64,
}

/// One process's side of the lease.
#[derive(Debug)]
pub struct Lease {
    kv: kv::Store,
    auth: std::sync::Arc<LatticeAuth>,
    me: LeaseHolder,
    /// The revision this process last wrote, while it holds the lease.
    held: Option<u64>,
}

/// Opens the lease bucket of `lattice`, entries expiring after `ttl`.
pub async fn open_lease_bucket(
    client: &async_nats::Client,
    lattice: &LatticeId,
    ttl: Duration,
) -> Result<kv::Store, BucketError> {
    open_kv_aged(
        client,
        &format!("floe-{lattice}-lease"),
        &format!("Floe lattice {lattice}: the reconciler's leader lease"),
        ttl,
    )
    .await
}

impl Lease {
    pub fn new(kv: kv::Store, auth: std::sync::Arc<LatticeAuth>, host_id: &str) -> Self {
        let since_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Lease {
            kv,
            auth,
            me: LeaseHolder {
                host_id: host_id.to_owned(),
                since_ms,
            },
            held: None,
        }
    }

    /// The host this side of the lease speaks for.
    pub fn host_id(&self) -> &str {
        &self.me.host_id
    }

    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// Renews the lease when held, else tries to take it. True while this
    /// process holds it.
    pub async fn renew_or_acquire(&mut self) -> Result<bool, RecordError> {
        self.held = match self.held {
            Some(revision) => {
                records::update(&self.kv, &self.auth, LEADER_KEY, &self.me, revision).await?
            }
            None => records::create(&self.kv, &self.auth, LEADER_KEY, &self.me).await?,
        };
        Ok(self.held.is_some())
    }

    /// Forgets a renewal whose outcome is unknown: the next attempt tries to
    /// take the lease afresh (and fails while another holds it).
    pub fn forget(&mut self) {
        self.held = None;
    }

    /// The current holder, as stored (possibly stale).
    pub async fn holder(&self) -> Result<Option<LeaseHolder>, RecordError> {
        Ok(
            records::read::<LeaseHolder>(&self.kv, &self.auth, LEADER_KEY)
                .await?
                .map(|r| r.value),
        )
    }

    /// Gives the lease up (on a clean stop), so another host takes over at
    /// once instead of after the TTL.
    pub async fn release(&mut self) {
        if let Some(revision) = self.held.take() {
            // Only if it is still ours: a delete conditioned on our revision.
            let _ = self
                .kv
                .delete_expect_revision(LEADER_KEY, Some(revision))
                .await;
        }
    }
}
