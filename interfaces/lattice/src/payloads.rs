//! [`PayloadStore`]: payloads too large for one NATS message travel through
//! the lattice's payload object store (`floe-{lattice}-payloads`), named for
//! their call alone, with the digest and size in the sealed envelope or
//! reply. The reader checks both and removes the object; the bucket's
//! `max_age` removes what a reader never took (a caller that gave up).

use std::time::Duration;

use async_nats::jetstream::object_store;
use floe_wire::envelope::PayloadRef;
use floe_wire::{ErrorKind, InvocationError, LatticeId};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;
use tokio::sync::OnceCell;

/// The largest payload a call may carry in either direction, by default.
pub const DEFAULT_MAX_CALL_BYTES: usize = 64 << 20;

/// The most the payload store holds at once (a put beyond it fails that
/// call, never the store). JetStream reserves it against the server's
/// storage when the bucket is created.
pub const PAYLOAD_STORE_BYTES: i64 = 256 << 20;

/// How long an object no reader took is kept.
pub const PAYLOAD_MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// Room left in a NATS message for the envelope's framing and headers.
const FRAMING: usize = 4096;

/// The longest a best-effort removal may take (then `max_age` removes it).
const DISCARD_TIMEOUT: Duration = Duration::from_secs(2);

/// How long opening the store may retry while JetStream forms.
const FORMING_TIMEOUT: Duration = Duration::from_secs(10);

/// The lattice's payload store, opened on first use.
pub struct PayloadStore {
    nats: async_nats::Client,
    lattice: LatticeId,
    limit: usize,
    store: OnceCell<object_store::ObjectStore>,
    /// The server's max payload, read from its INFO once known (reading
    /// the INFO clones it: not on every call).
    max_payload: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for PayloadStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadStore")
            .field("lattice", &self.lattice)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl PayloadStore {
    pub fn new(nats: async_nats::Client, lattice: LatticeId) -> Self {
        PayloadStore {
            nats,
            lattice,
            limit: DEFAULT_MAX_CALL_BYTES,
            store: OnceCell::new(),
            max_payload: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Sets the largest payload accepted or sent.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether a message of `len` bytes (framing aside) must go through the
    /// store: more than the server's max payload.
    pub fn must_spill(&self, len: usize) -> bool {
        use std::sync::atomic::Ordering;
        let mut max = self.max_payload.load(Ordering::Relaxed);
        if max == 0 {
            max = self.nats.server_info().max_payload;
            self.max_payload.store(max, Ordering::Relaxed);
        }
        max > 0 && len + FRAMING > max
    }

    /// Refuses a payload over the per-call limit, naming it, as `kind`
    /// (the caller's `bad_arguments`; `internal` for a result).
    pub fn check_size(&self, len: u64, what: &str, kind: ErrorKind) -> Result<(), InvocationError> {
        if len > self.limit as u64 {
            return Err(InvocationError::new(
                kind,
                format!(
                    "{what} is {len} bytes, over the per-call limit of {} bytes (--max-call-bytes)",
                    self.limit
                ),
            ));
        }
        Ok(())
    }

    async fn store(&self) -> Result<&object_store::ObjectStore, InvocationError> {
        self.store
            .get_or_try_init(|| open(&self.nats, &self.lattice))
            .await
    }

    /// Stores `bytes` as `object` and returns the reference to send; a
    /// payload over the limit is refused as `kind`.
    pub async fn put(
        &self,
        object: String,
        bytes: &[u8],
        kind: ErrorKind,
    ) -> Result<PayloadRef, InvocationError> {
        self.check_size(bytes.len() as u64, "the payload", kind)?;
        let digest = digest(bytes);
        let store = self.store().await?;
        let mut reader = bytes;
        if let Err(e) = store.put(object.as_str(), &mut reader).await {
            // A put that failed part way leaves the chunks it wrote.
            let _ = store.delete(object.as_str()).await;
            return Err(internal(format!("cannot store a large payload: {e}")));
        }
        Ok(PayloadRef {
            object,
            digest,
            len: bytes.len() as u64,
        })
    }

    /// Reads the payload `reference` names, checks its size and digest, and
    /// removes the object.
    pub async fn take(&self, reference: &PayloadRef) -> Result<Vec<u8>, InvocationError> {
        let store = self.store().await?;
        if let Err(refused) = self.check_size(reference.len, "the payload", ErrorKind::BadArguments)
        {
            // Never read, but removed: it was for this call alone.
            let _ = store.delete(reference.object.as_str()).await;
            return Err(refused);
        }
        let mut object = store.get(reference.object.as_str()).await.map_err(|e| {
            internal(format!(
                "the large payload {} is not in the payload store: {e}",
                reference.object
            ))
        })?;
        let capacity = usize::try_from(reference.len).unwrap_or(usize::MAX);
        let mut bytes = Vec::with_capacity(capacity);
        (&mut object)
            .take(reference.len + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| internal(format!("cannot read a large payload: {e}")))?;
        // Removed whatever it held: it was for this call alone.
        if let Err(e) = store.delete(reference.object.as_str()).await {
            tracing::debug!(object = %reference.object, error = %e, "cannot remove a payload");
        }
        if bytes.len() as u64 != reference.len || digest(&bytes) != reference.digest {
            return Err(InvocationError::new(
                ErrorKind::BadArguments,
                format!(
                    "the large payload {} does not match its reference ({} bytes, {}; expected {} bytes, {})",
                    reference.object,
                    bytes.len(),
                    digest(&bytes),
                    reference.len,
                    reference.digest
                ),
            ));
        }
        Ok(bytes)
    }
}

impl PayloadStore {
    /// Removes the object `reference` names without reading it: a call that
    /// will never take it (refused, failed, given up). Best effort; the
    /// bucket's `max_age` removes what this misses.
    pub async fn discard(&self, reference: &PayloadRef) {
        let delete = async {
            let store = self.store().await.ok()?;
            store.delete(reference.object.as_str()).await.err()
        };
        match tokio::time::timeout(DISCARD_TIMEOUT, delete).await {
            Ok(Some(e)) => {
                tracing::debug!(object = %reference.object, error = %e, "cannot remove a payload");
            }
            Ok(None) => {}
            Err(_) => tracing::debug!(object = %reference.object, "removing a payload timed out"),
        }
    }
}

fn internal(message: String) -> InvocationError {
    InvocationError::new(ErrorKind::Internal, message)
}

fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Gets the payload store, else creates it (as many replicas as the cluster
/// allows, up to 3; objects expire after [`PAYLOAD_MAX_AGE`]).
async fn open(
    client: &async_nats::Client,
    lattice: &LatticeId,
) -> Result<object_store::ObjectStore, InvocationError> {
    let config = object_store::Config {
        bucket: floe_wire::subject::payload_bucket(lattice),
        description: Some(format!(
            "Floe lattice {lattice}: payloads too large for one message, while their call lasts"
        )),
        max_age: PAYLOAD_MAX_AGE,
        max_bytes: PAYLOAD_STORE_BYTES,
        ..Default::default()
    };
    crate::bucket::open_object_store(client, config, FORMING_TIMEOUT)
        .await
        .map_err(|e| internal(e.to_string()))
}
