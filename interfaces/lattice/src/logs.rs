//! The lattice's log stream (`floe-{lattice}-logs`): every actor's log
//! lines (`floe.{lattice}.log.>`), bounded in size and age, so a client can
//! show what an actor logged recently on every host. Opened get-then-create
//! like the KV bucket, replicated as far as the cluster allows.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use floe_wire::{LatticeId, Subject};

use crate::BucketError;

/// How long lines are kept, and how much of them.
pub const LOG_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
pub const LOG_MAX_BYTES: i64 = 64 << 20;

/// The stream's name for `lattice`.
pub fn log_stream_name(lattice: &LatticeId) -> String {
    format!("floe-{lattice}-logs")
}

/// Opens the log stream of `lattice`, creating it when missing.
pub async fn open_log_stream(
    client: &async_nats::Client,
    lattice: &LatticeId,
) -> Result<stream::Stream, BucketError> {
    let js = jetstream::new(client.clone());
    let name = log_stream_name(lattice);
    if let Ok(found) = js.get_stream(&name).await {
        return Ok(found);
    }
    let mut last_error = String::new();
    for replicas in [3, 1] {
        let config = stream::Config {
            name: name.clone(),
            description: Some(format!("Floe lattice {lattice}: actor log lines")),
            subjects: vec![Subject::AllLogs.render(lattice)],
            max_age: LOG_MAX_AGE,
            max_bytes: LOG_MAX_BYTES,
            discard: stream::DiscardPolicy::Old,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            ..stream::Config::default()
        };
        match js.create_stream(config).await {
            Ok(created) => return Ok(created),
            Err(e) => last_error = e.to_string(),
        }
        if let Ok(found) = js.get_stream(&name).await {
            return Ok(found);
        }
    }
    Err(BucketError {
        bucket: name,
        reason: last_error,
    })
}
