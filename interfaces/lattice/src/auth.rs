//! [`LatticeAuth`]: the lattice MAC applied to NATS traffic and KV entries.
//! Every Floe process seals what it publishes on the lattice's subjects and
//! verifies what it receives through this one type, which also counts and
//! logs what it rejects.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::{HeaderMap, Message};
use bytes::Bytes;
use floe_wire::LatticeId;
use floe_wire::auth::{
    AUTH_HEADER, AuthError, KeyRing, LatticeKey, ReplayGuard, ReplayPolicy, Seal, SealContext,
    now_ms,
};
use floe_wire::subject::kv_bucket;

/// Seals and verifies one lattice's messages and KV entries.
#[derive(Debug)]
pub struct LatticeAuth {
    lattice: LatticeId,
    bucket: String,
    ring: KeyRing,
    guard: ReplayGuard,
    rejected: AtomicU64,
    by_reason: Mutex<BTreeMap<&'static str, u64>>,
}

impl LatticeAuth {
    pub fn new(lattice: LatticeId, ring: KeyRing, policy: ReplayPolicy) -> Self {
        LatticeAuth {
            bucket: kv_bucket(&lattice),
            lattice,
            ring,
            guard: ReplayGuard::new(policy),
            rejected: AtomicU64::new(0),
            by_reason: Mutex::new(BTreeMap::new()),
        }
    }

    /// Keys derived from `signing` (and `accepted`, during a rotation) seeds.
    pub fn from_seeds(
        lattice: LatticeId,
        signing: &str,
        accepted: &[String],
        policy: ReplayPolicy,
    ) -> Self {
        let ring = accepted.iter().fold(
            KeyRing::new(LatticeKey::derive(signing, &lattice)),
            |ring, seed| ring.accept(LatticeKey::derive(seed, &lattice)),
        );
        Self::new(lattice, ring, policy)
    }

    /// The keys as a provider this process starts receives them (host data).
    pub fn key_data(&self) -> Vec<floe_wire::provider::KeyData> {
        use base64::Engine as _;
        self.ring
            .keys()
            .map(|k| floe_wire::provider::KeyData {
                id: k.id().to_owned(),
                key: base64::engine::general_purpose::STANDARD.encode(k.secret()),
            })
            .collect()
    }

    /// The MAC of a provider, from the keys in its host data.
    pub fn from_key_data(
        lattice: LatticeId,
        keys: &[floe_wire::provider::KeyData],
        policy: ReplayPolicy,
    ) -> Result<Self, AuthError> {
        use base64::Engine as _;
        let mut ring: Option<KeyRing> = None;
        for data in keys {
            let secret: [u8; 32] = base64::engine::general_purpose::STANDARD
                .decode(&data.key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    AuthError::Malformed(format!("lattice key {} is not 32 base64 bytes", data.id))
                })?;
            let key = LatticeKey::from_secret(secret);
            ring = Some(match ring {
                None => KeyRing::new(key),
                Some(ring) => ring.accept(key),
            });
        }
        let ring = ring.ok_or_else(|| AuthError::Malformed("no lattice key".to_owned()))?;
        Ok(Self::new(lattice, ring, policy))
    }

    pub fn lattice(&self) -> &LatticeId {
        &self.lattice
    }

    /// The id of the key this process seals with.
    pub fn key_id(&self) -> &str {
        self.ring.signing().id()
    }

    pub fn key_ids(&self) -> Vec<&str> {
        self.ring.key_ids()
    }

    /// Messages and entries rejected so far, in all.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Rejections by reason (`missing`, `bad_mac`, `replayed`, …).
    pub fn rejected_by_reason(&self) -> BTreeMap<String, u64> {
        self.by_reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }

    /// The headers that authenticate `body` sent to `subject`, with replies
    /// to `reply` when it is a request.
    pub fn headers(&self, subject: &str, reply: Option<&str>, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let context = SealContext::message(subject, reply);
        let token = Seal::create(&self.ring, &context, body, now_ms());
        headers.insert(AUTH_HEADER, token);
        headers
    }

    /// Checks a received message: its MAC, its age, and that it was not
    /// received before. A rejection is counted and logged.
    pub fn verify(&self, msg: &Message) -> Result<(), AuthError> {
        let result = self.check(msg);
        if let Err(e) = &result {
            self.count(e, &msg.subject);
        }
        result
    }

    /// Checks a message kept by a JetStream stream: only its MAC, for the
    /// subject it was published on (it was sent without a reply subject; a
    /// stored message is old by nature, so the window and nonce do not
    /// apply). A rejection is counted and logged.
    pub fn verify_stored(&self, msg: &Message) -> Result<(), AuthError> {
        let result = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(AUTH_HEADER))
            .ok_or(AuthError::Missing)
            .and_then(|token| {
                let context = SealContext::message(&msg.subject, None);
                Seal::open(&self.ring, token.as_str(), &context, &msg.payload).map(|_| ())
            });
        if let Err(e) = &result {
            self.count(e, &msg.subject);
        }
        result
    }

    fn check(&self, msg: &Message) -> Result<(), AuthError> {
        let token = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(AUTH_HEADER))
            .ok_or(AuthError::Missing)?;
        let context = SealContext::message(&msg.subject, msg.reply.as_deref());
        let seal = Seal::open(&self.ring, token.as_str(), &context, &msg.payload)?;
        self.guard.admit(&seal, now_ms())
    }

    fn count(&self, e: &AuthError, what: &str) {
        let total = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
        *self
            .by_reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(e.reason())
            .or_default() += 1;
        // Log the first few, then every power of two: a flood of forgeries
        // must not become a flood of log lines.
        if total <= 16 || total.is_power_of_two() {
            tracing::warn!(
                on = what,
                reason = e.reason(),
                rejected_so_far = total,
                "rejected: {e}"
            );
        }
    }

    /// Publishes `body` on `subject`, sealed.
    pub async fn publish(
        &self,
        client: &async_nats::Client,
        subject: String,
        body: Bytes,
    ) -> Result<(), async_nats::PublishError> {
        let headers = self.headers(&subject, None, &body);
        client.publish_with_headers(subject, headers, body).await
    }

    /// Publishes `body` on `subject` with replies to `reply`, sealed.
    pub async fn publish_with_reply(
        &self,
        client: &async_nats::Client,
        subject: String,
        reply: String,
        body: Bytes,
    ) -> Result<(), async_nats::PublishError> {
        let headers = self.headers(&subject, Some(&reply), &body);
        client
            .publish_with_reply_and_headers(subject, reply, headers, body)
            .await
    }

    /// The value to store under `key` in the lattice bucket for `body`.
    pub fn seal_value(&self, key: &str, body: &[u8]) -> Vec<u8> {
        self.seal_value_in(&self.bucket, key, body)
    }

    /// The value to store under `key` in the KV bucket `bucket` (one of the
    /// lattice's own, such as its secrets bucket) for `body`.
    pub fn seal_value_in(&self, bucket: &str, key: &str, body: &[u8]) -> Vec<u8> {
        Seal::wrap_value(&self.ring, &SealContext::kv(bucket, key), body, now_ms())
    }

    /// When the value was sealed, and its body, if authentic. `stored_ms` is when
    /// the server stored it: an authentic value stored again long after it
    /// was sealed (a rollback by someone replaying an old value) is refused.
    /// A rejection is counted and logged.
    pub fn open_value<'v>(
        &self,
        key: &str,
        value: &'v [u8],
        stored_ms: u64,
    ) -> Result<(u64, &'v [u8]), AuthError> {
        self.open_value_in(&self.bucket, key, value, stored_ms)
    }

    /// [`LatticeAuth::open_value`] for a value stored in the KV bucket `bucket`.
    pub fn open_value_in<'v>(
        &self,
        bucket: &str,
        key: &str,
        value: &'v [u8],
        stored_ms: u64,
    ) -> Result<(u64, &'v [u8]), AuthError> {
        let context = SealContext::kv(bucket, key);
        let result = Seal::unwrap_value(&self.ring, &context, value).and_then(|(seal, body)| {
            self.guard
                .check_window(seal.issued_at_ms, stored_ms)
                .map(|()| (seal.issued_at_ms, body))
        });
        if let Err(e) = &result {
            self.count(e, &context.to_string());
        }
        result
    }
}
