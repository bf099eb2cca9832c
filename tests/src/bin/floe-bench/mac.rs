//! The lattice MAC's cost: sealing and opening (with the replay check) an
//! envelope-sized body under HMAC-SHA256, as every message does, next to a
//! keyed BLAKE3 MAC of the same bytes (the alternative DESIGN.md names), for
//! a typical envelope and for a 64 KiB body.

use std::time::{Duration, Instant};

use floe_wire::LatticeId;
use floe_wire::auth::{KeyRing, LatticeKey, ReplayGuard, ReplayPolicy, Seal, SealContext};

use crate::stats::percentile;
use crate::{Report, us};

/// Median time of `op` over `n` runs, measured in batches of 100 so the
/// clock's own cost stays out of sub-microsecond figures.
fn median(n: usize, mut op: impl FnMut()) -> Duration {
    let mut samples = Vec::with_capacity(n / 100 + 1);
    for _ in 0..n.div_ceil(100) {
        let started = Instant::now();
        for _ in 0..100 {
            op();
        }
        samples.push(started.elapsed() / 100);
    }
    percentile(&mut samples, 0.5)
}

pub fn measure(report: &mut Report, quick: bool) {
    let n = if quick { 20_000 } else { 200_000 };
    let seed = floe_wire::KeyKind::Cluster
        .generate()
        .seed()
        .unwrap_or_default();
    let ring = KeyRing::new(LatticeKey::derive(&seed, &LatticeId::default()));
    let context = SealContext::message(
        "floe.default.rpc.MBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENC",
        Some("_INBOX.abcdefghijklmnopqrstuv.42"),
    );
    let blake_key = *blake3::hash(seed.as_bytes()).as_bytes();
    for (label, size) in [("200-byte envelope", 200usize), ("64 KiB body", 64 << 10)] {
        let body = vec![0x5a_u8; size];
        let seal = median(n / if size > 1000 { 100 } else { 1 }, || {
            std::hint::black_box(Seal::create(&ring, &context, &body, 1));
        });
        let token = Seal::create(&ring, &context, &body, 1);
        let guard = ReplayGuard::new(ReplayPolicy::default());
        let open = median(n / if size > 1000 { 100 } else { 1 }, || {
            if let Ok(seal) = Seal::open(&ring, &token, &context, &body) {
                // A fresh nonce each time, as real traffic has.
                let fresh = floe_wire::auth::Seal {
                    nonce: seal.nonce ^ u128::from(fastrand::u64(..)),
                    issued_at_ms: floe_wire::auth::now_ms(),
                };
                std::hint::black_box(guard.admit(&fresh, fresh.issued_at_ms)).ok();
            }
        });
        let blake = median(n / if size > 1000 { 100 } else { 1 }, || {
            let mut h = blake3::Hasher::new_keyed(&blake_key);
            h.update(b"msg floe.default.rpc.MBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENC _INBOX.abcdefghijklmnopqrstuv.42");
            h.update(&body);
            std::hint::black_box(h.finalize());
        });
        report.row(
            &format!("lattice MAC, {label}: seal (HMAC-SHA256)"),
            us(seal),
            "token with key id, issued-at, nonce; median",
        );
        report.row(
            &format!("lattice MAC, {label}: open + replay check"),
            us(open),
            "verify MAC, window, nonce cache; median",
        );
        report.row(
            &format!("lattice MAC, {label}: keyed BLAKE3 for comparison"),
            us(blake),
            "MAC only (no token); median",
        );
    }
}
