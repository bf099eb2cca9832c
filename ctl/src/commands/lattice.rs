//! [`Lattice`]: what a command that runs on a lattice gets — a connected
//! client and the global flags.

use anyhow::Context as _;
use floe_ctl::{ClientOptions, CtlClient};

use crate::args::GlobalArgs;

/// A connected client and the global flags, for lattice commands.
pub struct Lattice {
    pub client: CtlClient,
    pub global: GlobalArgs,
}

impl Lattice {
    /// Connects with the global flags (the context already applied).
    pub async fn connect(global: GlobalArgs) -> anyhow::Result<Self> {
        let client = CtlClient::connect(&ClientOptions {
            nats_url: global.nats_url.clone(),
            lattice: global.lattice.clone(),
            creds: global.creds.clone(),
            cluster_seed: global.cluster_seed.clone(),
            timeout: global.timeout,
        })
        .await?;
        Ok(Lattice { client, global })
    }
}

/// Runs `future` on a runtime of its own (the CLI is synchronous outside).
pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(
    future: F,
) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}
