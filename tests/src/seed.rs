//! Cluster seeds for test lattices. Each test lattice has a random name; its
//! seed is derived from that name, so every host and client a test starts
//! for the lattice shares it without threading it through each call — and a
//! different lattice, or a test that wants a wrong key, gets another.

use std::sync::Arc;
use std::time::Duration;

use floe_ctl::CtlClient;
use floe_lattice::LatticeAuth;
use floe_wire::auth::ReplayPolicy;
use sha2::{Digest as _, Sha256};

/// The cluster seed (`SC…`) of the test lattice `lattice`.
pub fn seed_for(lattice: &str) -> String {
    let raw: [u8; 32] = Sha256::digest(format!("floe-test-lattice:{lattice}").as_bytes()).into();
    nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::Cluster, raw)
        .and_then(|pair| pair.seed())
        .unwrap_or_else(|e| panic!("a cluster seed from 32 bytes: {e}"))
}

/// The lattice MAC a test client of `lattice` uses.
pub fn auth_for(lattice: &str) -> Arc<LatticeAuth> {
    let id = lattice
        .parse()
        .unwrap_or_else(|e| panic!("test lattice id {lattice}: {e}"));
    Arc::new(LatticeAuth::from_seeds(
        id,
        &seed_for(lattice),
        &[],
        ReplayPolicy::default(),
    ))
}

/// A control client of `lattice` over `nats`, holding the lattice's seed.
pub fn client(nats: async_nats::Client, lattice: &str, timeout: Duration) -> CtlClient {
    CtlClient::from_client(nats, auth_for(lattice), timeout)
}
