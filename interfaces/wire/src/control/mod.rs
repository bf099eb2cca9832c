//! Control-plane messages (JSON): the requests the CLI sends to hosts on
//! `ctl.…` subjects and the replies they get.
//!
//! Every reply has the shape `{ "accepted": bool, "error": string|null,
//! "code": string (when refused), …payload }`; every request and reply
//! carries the protocol version `v`.
//!
//! - `hosts`: ping, auction, inventory, labels, stop.
//! - `actors`: start, stop, scale, update; an actor's description.
//! - `providers`: start, stop; a provider replica's description.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::envelope::PayloadRef;

pub use crate::refusal::{ControlCode, Refusal};

mod actors;
mod hosts;
mod providers;

pub use actors::*;
pub use hosts::*;
pub use providers::*;

/// The control protocol version this release speaks.
pub const CONTROL_VERSION: u16 = 1;

fn version() -> u16 {
    CONTROL_VERSION
}

/// Labels and annotations: ordered string maps.
pub type StringMap = BTreeMap<String, String>;

/// A control reply: accepted with a payload, or refused with a reason and
/// its stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlReply<T> {
    #[serde(default = "version")]
    pub v: u16,
    pub accepted: bool,
    pub error: Option<String>,
    /// Why it was refused, for programs (absent from hosts before codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ControlCode>,
    #[serde(flatten)]
    pub payload: Option<T>,
}

impl<T> ControlReply<T> {
    pub fn ok(payload: T) -> Self {
        ControlReply {
            v: CONTROL_VERSION,
            accepted: true,
            error: None,
            code: None,
            payload: Some(payload),
        }
    }

    pub fn refused(refusal: Refusal) -> Self {
        ControlReply {
            v: CONTROL_VERSION,
            accepted: false,
            error: Some(refusal.message),
            code: Some(refusal.code),
            payload: None,
        }
    }

    /// The payload when accepted, else why not (a reply without a code, from
    /// an older host, reads as [`ControlCode::Unknown`]).
    pub fn into_result(self) -> Result<T, Refusal> {
        let code = self.code.unwrap_or(ControlCode::Unknown);
        match (self.accepted, self.payload, self.error) {
            (true, Some(p), _) => Ok(p),
            (_, _, Some(e)) => Err(Refusal::new(code, e)),
            (true, None, None) => Err(Refusal::new(
                ControlCode::Internal,
                "the host accepted but sent no payload",
            )),
            (false, _, None) => Err(Refusal::new(code, "the host refused without a reason")),
        }
    }
}

/// A control reply too large for one NATS message: accepted, and its whole
/// body (a [`ControlReply`]) waits in the lattice's payload store under
/// `spilled`, whose digest and size the sealed reply carries. The reader
/// takes (and removes) it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpilledReply {
    #[serde(default = "version")]
    pub v: u16,
    pub accepted: bool,
    pub spilled: PayloadRef,
}

impl SpilledReply {
    pub fn new(spilled: PayloadRef) -> Self {
        SpilledReply {
            v: CONTROL_VERSION,
            accepted: true,
            spilled,
        }
    }
}

/// Where the body of `reply` waits, when it is a [`SpilledReply`].
pub fn spilled(reply: &[u8]) -> Option<PayloadRef> {
    #[derive(Deserialize)]
    struct Probe {
        spilled: Option<PayloadRef>,
    }
    // A spilled reply is a few hundred bytes: a large one is the body itself.
    if reply.len() > 1024 {
        return None;
    }
    serde_json::from_slice::<Probe>(reply).ok()?.spilled
}

/// Parses a control message, naming what was wrong with it.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(bytes).map_err(|e| {
        Refusal::new(
            ControlCode::BadRequest,
            format!("malformed control message: {e}"),
        )
    })
}

/// Refuses a control message written by a newer protocol than this
/// release speaks (its `v`, when present, is checked before anything else).
pub fn check_version(bytes: &[u8]) -> Result<(), Refusal> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        v: u16,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(Probe { v }) if v > CONTROL_VERSION => Err(Refusal::new(
            ControlCode::UnsupportedVersion,
            format!(
                "unsupported control protocol version {v} (this host speaks {CONTROL_VERSION}); upgrade the host"
            ),
        )),
        // Malformed bodies are reported by the typed parse that follows.
        _ => Ok(()),
    }
}

/// An empty payload for replies that carry nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_have_the_documented_shape() {
        let ok = ControlReply::ok(Labels {
            labels: StringMap::from([("zone".to_owned(), "a".to_owned())]),
        });
        let json = serde_json::to_value(&ok).expect("json");
        assert_eq!(json["accepted"], true);
        assert!(json["error"].is_null());
        assert_eq!(json["labels"]["zone"], "a");
        assert!(json.get("code").is_none());
        let back: ControlReply<Labels> = serde_json::from_value(json).expect("parse");
        assert_eq!(back.into_result().expect("ok").labels["zone"], "a");

        let refused: ControlReply<Labels> =
            ControlReply::refused(Refusal::new(ControlCode::NotFound, "no such actor"));
        let json = serde_json::to_value(&refused).expect("json");
        assert_eq!(json["accepted"], false);
        assert_eq!(json["error"], "no such actor");
        assert_eq!(json["code"], "not_found");
        let back: ControlReply<Labels> = serde_json::from_value(json).expect("parse");
        assert_eq!(
            back.into_result(),
            Err(Refusal::new(ControlCode::NotFound, "no such actor"))
        );
        // A host from before codes: the text, and an unknown code.
        let old: ControlReply<Labels> =
            serde_json::from_str(r#"{"v":1,"accepted":false,"error":"no"}"#).expect("parse");
        assert_eq!(
            old.into_result().expect_err("refused").code,
            ControlCode::Unknown
        );
    }

    #[test]
    fn malformed_requests_are_reported() {
        let err = parse::<StopActorRequest>(b"{\"v\":1}").expect_err("missing field");
        assert!(err.message.contains("actor_id"), "{err}");
        assert_eq!(err.code, ControlCode::BadRequest);
        assert!(parse::<StopActorRequest>(b"\xff").is_err());
        let ok: PingRequest = parse(b"{}").expect("defaults");
        assert_eq!(ok.v, CONTROL_VERSION);
        let newer = check_version(b"{\"v\":99}").expect_err("newer");
        assert!(newer.message.contains("version 99"), "{newer}");
        assert_eq!(newer.code, ControlCode::UnsupportedVersion);
        assert!(check_version(b"{\"v\":1}").is_ok());
        assert!(check_version(b"{}").is_ok());
    }
}
