//! The invocation envelope (msgpack): one call from an origin to a target
//! entity on `rpc.{target}`, and its reply.
//!
//! Envelopes are positional msgpack arrays (rmp-serde's default), so a call
//! costs a few dozen bytes of framing. New fields are only ever appended,
//! with defaults, and `v` says which release wrote the message.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The newest envelope format version this release reads: 2 adds
/// `payload_ref`.
pub const ENVELOPE_VERSION: u16 = 2;

/// The version this release writes unless a message needs a newer one (a
/// payload in the store), so releases that read only version 1 still
/// understand every other call.
pub const ENVELOPE_BASE_VERSION: u16 = 1;

/// How a payload's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Encoding {
    /// Compact positional msgpack (the default; see docs/wire-values.md).
    #[default]
    Msgpack,
    /// JSON with field and case names, for people and tools.
    Json,
    /// WAVE text, the syntax of `wasmtime run --invoke`.
    Wave,
}

impl From<Encoding> for u8 {
    fn from(e: Encoding) -> u8 {
        match e {
            Encoding::Msgpack => 0,
            Encoding::Json => 1,
            Encoding::Wave => 2,
        }
    }
}

/// A payload encoding number this release does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown payload encoding {0}")]
pub struct UnknownEncoding(pub u8);

impl TryFrom<u8> for Encoding {
    type Error = UnknownEncoding;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        match v {
            0 => Ok(Encoding::Msgpack),
            1 => Ok(Encoding::Json),
            2 => Ok(Encoding::Wave),
            other => Err(UnknownEncoding(other)),
        }
    }
}

/// Who made a call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The calling entity (actor or provider id), or a client's name.
    pub entity: String,
    /// The link name the call went through, when routed by a link.
    #[serde(default)]
    pub link_name: Option<String>,
    /// The host the caller runs on, when it runs on one.
    #[serde(default)]
    pub host: Option<String>,
}

/// One invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u16,
    pub id: uuid::Uuid,
    pub origin: Origin,
    pub target: String,
    /// `ns:pkg/iface.func` (version ignored), or `func` for a top-level export.
    pub operation: String,
    pub payload: ByteBuf,
    pub encoding: Encoding,
    /// Time left for the call, relative, so no clock sync is needed.
    pub deadline_ms: u32,
    /// W3C `traceparent`, when traced.
    #[serde(default)]
    pub trace: Option<String>,
    /// Milliseconds since the Unix epoch when sent. (The lattice MAC, its
    /// key id and the issued-at it vouches for travel in the message's
    /// `Floe-Auth` header, the same for every message: see `auth`.)
    #[serde(default)]
    pub issued_at_ms: u64,
    /// Set when the payload was too large for one NATS message: it travels
    /// in the lattice's payload object store and `payload` is empty (and
    /// `v` is 2). Absent otherwise, so version-1 readers see the array they
    /// know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_ref: Option<PayloadRef>,
}

/// Where a payload too large for one NATS message waits: an object in the
/// lattice's payload store, named for this call alone, with the digest and
/// size the reader checks. The envelope that carries it is sealed, so the
/// reference is as authentic as the payload would have been.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadRef {
    /// The object's name in the payload store.
    pub object: String,
    /// `sha256:HEX` of the payload.
    pub digest: String,
    /// The payload's size in bytes.
    pub len: u64,
}

/// The reply to one invocation: `[v, id, outcome]`, then `payload_ref`
/// and `err_case` only when needed, so a reply with neither reads the same
/// as before they existed (older hosts and providers decode it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InvocationReply {
    pub v: u16,
    /// The invocation id answered.
    pub id: uuid::Uuid,
    /// The encoded result, in the request's encoding, or why there is none.
    pub outcome: Result<ByteBuf, InvocationError>,
    /// Set when the result was too large for one NATS message (the outcome
    /// is then `Ok` and empty, `v` 2): see [`PayloadRef`].
    #[serde(default)]
    pub payload_ref: Option<PayloadRef>,
    /// The result is the `err` case of a function returning `result` (a
    /// failure the function itself returned, not one of the call).
    #[serde(default)]
    pub err_case: bool,
}

impl Serialize for InvocationReply {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple as _;
        let len = if self.err_case {
            5
        } else if self.payload_ref.is_some() {
            4
        } else {
            3
        };
        let mut seq = serializer.serialize_tuple(len)?;
        seq.serialize_element(&self.v)?;
        seq.serialize_element(&self.id)?;
        seq.serialize_element(&self.outcome)?;
        if len > 3 {
            seq.serialize_element(&self.payload_ref)?;
        }
        if len > 4 {
            seq.serialize_element(&self.err_case)?;
        }
        seq.end()
    }
}

/// What a call answered: its encoded result, and whether that result is
/// the `err` case of a function returning `result` (so `floe call` can exit
/// non-zero on it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub bytes: Vec<u8>,
    pub err_case: bool,
}

impl From<Vec<u8>> for Answer {
    fn from(bytes: Vec<u8>) -> Self {
        Answer {
            bytes,
            err_case: false,
        }
    }
}

/// Why an invocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No entity with that id answers.
    NotFound,
    /// The target exports no such function.
    NoSuchOperation,
    /// The arguments do not fit the function's parameters.
    BadArguments,
    /// The caller may not make this call.
    Unauthorized,
    /// Every instance was busy and the queue was full or the wait ran out.
    Busy,
    /// The guest trapped (a panic, an out-of-bounds access, memory exhausted).
    Trapped,
    /// The deadline passed.
    TimedOut,
    /// No link routes this import.
    NoLink,
    /// The host failed; not the caller's or the guest's fault.
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::NotFound,
        ErrorKind::NoSuchOperation,
        ErrorKind::BadArguments,
        ErrorKind::Unauthorized,
        ErrorKind::Busy,
        ErrorKind::Trapped,
        ErrorKind::TimedOut,
        ErrorKind::NoLink,
        ErrorKind::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::NoSuchOperation => "no_such_operation",
            ErrorKind::BadArguments => "bad_arguments",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Busy => "busy",
            ErrorKind::Trapped => "trapped",
            ErrorKind::TimedOut => "timed_out",
            ErrorKind::NoLink => "no_link",
            ErrorKind::Internal => "internal",
        }
    }

    /// Position in [`ErrorKind::ALL`], for counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed invocation error with an optional cause chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct InvocationError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default)]
    #[source]
    pub cause: Option<Box<InvocationError>>,
}

impl InvocationError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        InvocationError {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// The message followed by every cause, `: `-separated.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut next = self.cause.as_deref();
        while let Some(cause) = next {
            out.push_str(": caused by ");
            out.push_str(&cause.to_string());
            next = cause.cause.as_deref();
        }
        out
    }
}

/// Why bytes are not an envelope or reply.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("malformed envelope: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("cannot encode envelope: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("unsupported envelope version {0} (this host speaks {ENVELOPE_VERSION})")]
    Version(u16),
}

impl Envelope {
    /// A new invocation of `operation` on `target`, issued now, with
    /// `deadline` left for it (saturating at `u32::MAX` ms).
    pub fn request(
        origin: Origin,
        target: &str,
        operation: &str,
        payload: Vec<u8>,
        encoding: Encoding,
        deadline: std::time::Duration,
    ) -> Self {
        Envelope {
            v: ENVELOPE_BASE_VERSION,
            id: uuid::Uuid::now_v7(),
            origin,
            target: target.to_owned(),
            operation: operation.to_owned(),
            payload: ByteBuf::from(payload),
            encoding,
            deadline_ms: u32::try_from(deadline.as_millis()).unwrap_or(u32::MAX),
            trace: None,
            issued_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            payload_ref: None,
        }
    }

    /// Names the caller's span (`traceparent`), so the callee's span joins
    /// its trace.
    pub fn traced(mut self, span: Option<&crate::trace::TraceContext>) -> Self {
        self.trace = span.map(crate::trace::TraceContext::header);
        self
    }

    pub fn encode(&self) -> Result<Vec<u8>, EnvelopeError> {
        Ok(rmp_serde::to_vec(self)?)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let envelope: Envelope = rmp_serde::from_slice(bytes)?;
        if envelope.v == 0 || envelope.v > ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(envelope.v));
        }
        Ok(envelope)
    }
}

impl InvocationReply {
    /// The reply to invocation `id`.
    pub fn new(id: uuid::Uuid, outcome: Result<Vec<u8>, InvocationError>) -> Self {
        InvocationReply {
            v: ENVELOPE_BASE_VERSION,
            id,
            outcome: outcome.map(ByteBuf::from),
            payload_ref: None,
            err_case: false,
        }
    }

    /// The reply to invocation `id` with what it answered.
    pub fn answered(id: uuid::Uuid, outcome: Result<Answer, InvocationError>) -> Self {
        let err_case = outcome.as_ref().is_ok_and(|a| a.err_case);
        InvocationReply {
            err_case,
            ..InvocationReply::new(id, outcome.map(|a| a.bytes))
        }
    }

    /// A reply whose result waits in the payload store.
    pub fn by_reference(id: uuid::Uuid, reference: PayloadRef, err_case: bool) -> Self {
        InvocationReply {
            v: ENVELOPE_VERSION,
            id,
            outcome: Ok(ByteBuf::new()),
            payload_ref: Some(reference),
            err_case,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, EnvelopeError> {
        Ok(rmp_serde::to_vec(self)?)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let reply: InvocationReply = rmp_serde::from_slice(bytes)?;
        if reply.v > ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(reply.v));
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            v: ENVELOPE_BASE_VERSION,
            id: uuid::Uuid::now_v7(),
            origin: Origin {
                entity: "cli".to_owned(),
                link_name: None,
                host: None,
            },
            target: "MABC".to_owned(),
            operation: "floe:examples/echo.echo".to_owned(),
            payload: ByteBuf::from(vec![0x91, 0xa2, b'h', b'i']),
            encoding: Encoding::Msgpack,
            deadline_ms: 10_000,
            trace: None,
            issued_at_ms: 1,
            payload_ref: None,
        }
    }

    #[test]
    fn envelopes_and_replies_round_trip() {
        let env = sample();
        let bytes = env.encode().expect("encode");
        assert!(bytes.len() < 100, "compact: {} bytes", bytes.len());
        assert_eq!(Envelope::decode(&bytes).expect("decode"), env);
        let mut err = InvocationError::new(ErrorKind::Trapped, "wasm trap: unreachable");
        err.cause = Some(Box::new(InvocationError::new(ErrorKind::Busy, "inner")));
        for (outcome, err_case) in [
            (Ok(ByteBuf::from(vec![1, 2])), true),
            (Ok(ByteBuf::from(vec![1, 2])), false),
            (Err(err), false),
        ] {
            let reply = InvocationReply {
                v: ENVELOPE_VERSION,
                id: env.id,
                outcome,
                payload_ref: None,
                err_case,
            };
            let back = InvocationReply::decode(&reply.encode().expect("enc")).expect("dec");
            assert_eq!(back, reply);
        }
    }

    #[test]
    fn without_a_payload_ref_the_arrays_are_version_1s() {
        // A version-1 envelope is a 10-element array, a reply 3: what a
        // release that reads only version 1 accepts.
        let env = sample();
        let bytes = env.encode().expect("encode");
        assert_eq!(bytes[0], 0x9a, "fixarray of 10");
        let reply = InvocationReply::new(env.id, Ok(vec![1]));
        assert_eq!(reply.encode().expect("encode")[0], 0x93, "fixarray of 3");
        // With a reference: version 2, one element more, and it round-trips.
        let reference = PayloadRef {
            object: "x.call".into(),
            digest: "sha256:00".into(),
            len: 7,
        };
        let mut big = sample();
        big.v = ENVELOPE_VERSION;
        big.payload_ref = Some(reference.clone());
        let bytes = big.encode().expect("encode");
        assert_eq!(bytes[0], 0x9b);
        assert_eq!(Envelope::decode(&bytes).expect("decode"), big);
        let reply = InvocationReply::by_reference(env.id, reference, true);
        assert_eq!(reply.v, ENVELOPE_VERSION);
        let back = InvocationReply::decode(&reply.encode().expect("enc")).expect("dec");
        assert_eq!(back, reply);
    }

    #[test]
    fn garbage_and_future_versions_are_refused() {
        assert!(Envelope::decode(b"").is_err());
        assert!(Envelope::decode(b"\x93\x01\x02").is_err());
        let mut env = sample();
        env.v = ENVELOPE_VERSION + 1;
        let bytes = env.encode().expect("encode");
        assert!(matches!(
            Envelope::decode(&bytes),
            Err(EnvelopeError::Version(_))
        ));
        let e = InvocationError {
            kind: ErrorKind::NoLink,
            message: "a".into(),
            cause: Some(Box::new(InvocationError::new(ErrorKind::TimedOut, "b"))),
        };
        assert_eq!(e.chain(), "no_link: a: caused by timed_out: b");
    }

    #[test]
    fn a_reply_without_its_trailing_fields_reads_as_before_them() {
        let id = uuid::Uuid::now_v7();
        let outcome: Result<ByteBuf, InvocationError> = Ok(ByteBuf::from(vec![7]));
        let older = rmp_serde::to_vec(&(ENVELOPE_BASE_VERSION, id, outcome)).expect("enc");
        let reply = InvocationReply::decode(&older).expect("an older reply decodes");
        assert_eq!(reply.payload_ref, None);
        assert!(!reply.err_case);
        // And a reply without either is written as before them.
        assert_eq!(reply.encode().expect("enc"), older);
        assert_eq!(reply.outcome.expect("ok").into_vec(), vec![7]);
    }
}
