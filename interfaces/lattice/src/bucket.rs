//! The lattice's JetStream KV bucket (`floe-{lattice}`): links now; config
//! and applications later. Opened get-then-create, so any process may be
//! first; replicated as far as the NATS cluster allows (up to 3). Object
//! stores (artifacts, large payloads) are opened the same way
//! ([`open_object_store`]).

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, stream};
use floe_wire::LatticeId;
use floe_wire::subject::kv_bucket;

/// How long to keep trying while JetStream is still forming.
const FORMING_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open the lattice's KV bucket {bucket}: {reason} (is JetStream enabled on the NATS server? start it with -js)"
)]
pub struct BucketError {
    pub bucket: String,
    pub reason: String,
}

/// The stream behind a KV bucket, as the KV conventions define it. Created
/// directly: async-nats' `create_key_value` first reads the account info,
/// whose reply from nats-server 2.9 (Debian's) it cannot parse.
fn kv_stream_config(
    bucket: &str,
    description: &str,
    replicas: usize,
    max_age: Duration,
) -> stream::Config {
    stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(description.to_owned()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        deny_purge: false,
        allow_direct: true,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::New,
        max_age,
        ..stream::Config::default()
    }
}

/// Opens the bucket of `lattice`, creating it when missing.
pub async fn open_bucket(
    client: &async_nats::Client,
    lattice: &LatticeId,
) -> Result<kv::Store, BucketError> {
    let description = format!("Floe lattice {lattice}: links, config, applications");
    open_kv(client, &kv_bucket(lattice), &description).await
}

/// Opens the KV bucket `bucket`, creating it (with as many replicas as the
/// cluster allows, up to 3) when missing, retrying while JetStream forms.
pub async fn open_kv(
    client: &async_nats::Client,
    bucket: &str,
    description: &str,
) -> Result<kv::Store, BucketError> {
    open_kv_aged(client, bucket, description, Duration::ZERO).await
}

/// Like [`open_kv`], for a bucket whose entries expire `max_age` after
/// their last write (zero: never). nats-server 2.9 has no per-key TTL, so a
/// lease is a bucket of its own with the lease's TTL as `max_age`.
pub async fn open_kv_aged(
    client: &async_nats::Client,
    bucket: &str,
    description: &str,
    max_age: Duration,
) -> Result<kv::Store, BucketError> {
    let js = jetstream::new(client.clone());
    let bucket = bucket.to_owned();
    let deadline = Instant::now() + FORMING_TIMEOUT;
    let mut last_error = String::new();
    while Instant::now() < deadline {
        if let Ok(store) = js.get_key_value(bucket.clone()).await {
            return Ok(store);
        }
        for replicas in [3, 1] {
            match js
                .create_stream(kv_stream_config(&bucket, description, replicas, max_age))
                .await
            {
                Ok(_) => {
                    if let Ok(store) = js.get_key_value(bucket.clone()).await {
                        return Ok(store);
                    }
                }
                Err(e) => last_error = e.to_string(),
            }
            // Another process may have created it meanwhile.
            if let Ok(store) = js.get_key_value(bucket.clone()).await {
                return Ok(store);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(BucketError {
        bucket,
        reason: last_error,
    })
}

/// Why an object store could not be opened: the last reason JetStream gave.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open the object store {bucket}: {reason} (is JetStream enabled on the NATS server?)"
)]
pub struct ObjectStoreError {
    pub bucket: String,
    pub reason: String,
}

/// Gets the object store `config.bucket`, else creates it with as many
/// replicas as the cluster allows (3, then 1), retrying while JetStream
/// forms, for at most `forming`.
pub async fn open_object_store(
    client: &async_nats::Client,
    config: jetstream::object_store::Config,
    forming: Duration,
) -> Result<jetstream::object_store::ObjectStore, ObjectStoreError> {
    let js = jetstream::new(client.clone());
    let deadline = Instant::now() + forming;
    let mut last_error = String::new();
    while Instant::now() < deadline {
        if let Ok(store) = js.get_object_store(&config.bucket).await {
            return Ok(store);
        }
        for replicas in [3, 1] {
            let attempt = jetstream::object_store::Config {
                num_replicas: replicas,
                ..config.clone()
            };
            match js.create_object_store(attempt).await {
                Ok(store) => return Ok(store),
                Err(e) => last_error = e.to_string(),
            }
            // Another process may have created it meanwhile.
            if let Ok(store) = js.get_object_store(&config.bucket).await {
                return Ok(store);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(ObjectStoreError {
        bucket: config.bucket,
        reason: last_error,
    })
}
