//! floe-reconciler: keeps declared applications true, from inside the
//! hosts (docs/apps.md). Every host runs one; the one holding the lease
//! (`floe_lattice::lease`) leads: it follows the hosts' heartbeats, and each
//! pass it reads the apps, sees the live hosts (an inventory only from a
//! host whose heartbeat says it changed) and the links, plans
//! (`plan`), and acts through the control interface like the CLI
//! (`act`). Everything it does is found again from annotations, so a new
//! leader continues where an old one stopped.
//!
//! # Layout
//! - `plan`: the pure planner: actions, what is missing, what is impossible.
//! - `hosts`: which hosts are alive (heartbeats; lost after missed beats).
//! - `act`: carrying out actions with a `CtlClient`.
//! - `pass`: one leader pass over every app, statuses and app events.
//! - `scale`: replicas that follow load (autoscaled components).
//! - `views`: the leader's picture of the live hosts, read on change.
//! - `stored_routes`: the ingress routes one pass reads, only when needed.

mod act;
mod hosts;
mod pass;
pub mod plan;
mod scale;
mod stored_routes;
mod views;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_lattice::LatticeAuth;
use floe_lattice::lease::{Lease, open_lease_bucket};
use floe_wire::EventType;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where the reconciler publishes its events (the host's sealed events).
pub trait EventSink: Send + Sync + 'static {
    fn publish(
        &self,
        kind: EventType,
        data: serde_json::Value,
    ) -> futures::future::BoxFuture<'_, ()>;
}

/// The reconciler's timing knobs (host flags, so tests set them small).
#[derive(Debug, Clone)]
pub struct ReconcilerConfig {
    /// The leader lease's TTL: a dead leader is replaced within it.
    pub lease_ttl: Duration,
    /// How often hosts heartbeat.
    pub heartbeat: Duration,
    /// Heartbeats a host may miss before it is declared lost.
    pub missed_beats: u32,
    /// Time between two passes of the leader.
    pub interval: Duration,
}

/// Runs until `shutdown`: follows heartbeats, takes the lease when it is
/// free, and reconciles while it holds it.
pub async fn run(
    nats: async_nats::Client,
    auth: Arc<LatticeAuth>,
    host_id: String,
    config: ReconcilerConfig,
    events: Arc<dyn EventSink>,
    members: Arc<std::sync::atomic::AtomicUsize>,
    shutdown: CancellationToken,
) {
    let lattice = auth.lattice().clone();
    let lease_kv = loop {
        let opened = tokio::select! {
            _ = shutdown.cancelled() => return,
            opened = open_lease_bucket(&nats, &lattice, config.lease_ttl) => opened,
        };
        match opened {
            Ok(kv) => break kv,
            Err(e) => {
                tracing::warn!("reconciler: {e}; trying again");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    // The bucket keeps the TTL of the host that created it: renew by that.
    let lease_ttl = match lease_kv.status().await {
        Ok(status) if !status.max_age().is_zero() => {
            if status.max_age() != config.lease_ttl {
                tracing::warn!(
                    bucket_ttl = ?status.max_age(),
                    flag = ?config.lease_ttl,
                    "the lease bucket was created with another TTL: using the bucket's (give every host the same --lease-ttl)"
                );
            }
            status.max_age()
        }
        _ => config.lease_ttl,
    };
    let grace = config.heartbeat * config.missed_beats.max(1);
    let tracker = Arc::new(Mutex::new(hosts::HostTracker::new(grace)));
    // Set while this host leads and follows the heartbeats.
    let mut following: Option<CancellationToken> = None;
    let leading = Arc::new(Leadership::default());
    let lease_task = tokio::spawn(hold_lease(
        Lease::new(lease_kv, auth.clone(), &host_id),
        lease_ttl,
        leading.clone(),
        shutdown.clone(),
    ));
    let mut leader =
        pass::Leader::new(nats.clone(), auth.clone(), host_id, events, leading.clone());
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let leads = leading.is_leading();
        match (leads, &following) {
            (true, None) => {
                // A new leader hears every host for one grace before it
                // decides anything (`warmed_up`).
                *hosts::lock(&tracker) = hosts::HostTracker::new(grace);
                let stop = shutdown.child_token();
                match hosts::follow(&nats, &auth, tracker.clone(), &stop).await {
                    Ok(()) => following = Some(stop),
                    Err(e) => {
                        tracing::warn!("reconciler: cannot follow heartbeats: {e}");
                        continue;
                    }
                }
            }
            (false, Some(stop)) => {
                stop.cancel();
                following = None;
            }
            _ => {}
        }
        // How many hosts heartbeat, once the leader knows (0 elsewhere).
        let known = {
            let hosts = hosts::lock(&tracker);
            if following.is_some() && hosts.warmed_up() {
                hosts.alive().len()
            } else {
                0
            }
        };
        members.store(known, std::sync::atomic::Ordering::Relaxed);
        if leads {
            // Every action is idempotent: a pass cut short by a stop is
            // finished by the next leader.
            tokio::select! {
                _ = shutdown.cancelled() => break,
                () = leader.pass(&tracker) => {}
            }
        } else {
            leader.follow();
        }
    }
    let _ = lease_task.await;
}

/// Whether this host leads: until a deadline set from when its last
/// successful renewal was sent, so a renewal that hangs never leaves it
/// acting after the lease has expired and another host took it.
#[derive(Debug, Default)]
pub(crate) struct Leadership {
    until: Mutex<Option<Instant>>,
}

impl Leadership {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn is_leading(&self) -> bool {
        self.lock().is_some_and(|until| Instant::now() < until)
    }

    fn hold_until(&self, until: Option<Instant>) {
        *self.lock() = until;
    }
}

/// Renews (or tries to take) the lease three times per TTL; gives it up on
/// a clean stop.
async fn hold_lease(
    mut lease: Lease,
    ttl: Duration,
    leading: Arc<Leadership>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(ttl / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let was = lease.is_held();
        let sent = Instant::now();
        let now = match tokio::time::timeout(ttl / 3, lease.renew_or_acquire()).await {
            Ok(Ok(held)) => held,
            Ok(Err(e)) => {
                tracing::warn!("reconciler: lease: {e}");
                false
            }
            Err(_) => {
                tracing::warn!("reconciler: renewing the lease timed out");
                lease.forget();
                false
            }
        };
        // The key lives at least `ttl` after this write was sent; stop
        // acting a third of it earlier.
        leading.hold_until(now.then(|| sent + ttl * 2 / 3));
        if now && !was {
            tracing::info!("this host now leads the reconciler");
        } else if was && !now {
            tracing::warn!("this host lost the reconciler lease");
        }
    }
    leading.hold_until(None);
    lease.release().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn leadership_ends_at_its_deadline_and_on_release() {
        let leading = Leadership::default();
        assert!(!leading.is_leading(), "no lease, no leading");
        let ttl = Duration::from_secs(9);
        // A renewal sent now holds the lease for at least the TTL; the
        // leader acts for two thirds of it.
        leading.hold_until(Some(Instant::now() + ttl * 2 / 3));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(leading.is_leading());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!leading.is_leading(), "a renewal that never came ends it");
        leading.hold_until(Some(Instant::now() + ttl));
        assert!(leading.is_leading());
        leading.hold_until(None);
        assert!(!leading.is_leading(), "released");
    }
}
