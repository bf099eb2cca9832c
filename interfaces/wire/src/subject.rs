//! Every NATS subject Floe uses, built and parsed in this one place.
//!
//! All subjects live under `floe.{lattice}.`. Code elsewhere never formats
//! or splits a subject string: it builds a [`Subject`] and calls
//! [`Subject::render`], or parses one with [`Subject::parse`].

use std::fmt;

use crate::events::EventType;
use crate::lattice::LatticeId;

/// The first token of every Floe subject.
pub const PREFIX: &str = "floe";

/// The JetStream KV bucket holding a lattice's links, config and apps.
pub fn kv_bucket(lattice: &LatticeId) -> String {
    format!("{PREFIX}-{lattice}")
}

/// The JetStream KV bucket holding a lattice's sealed secrets (its own, so
/// NATS permissions can keep it from everyone but hosts and operators).
pub fn secrets_bucket(lattice: &LatticeId) -> String {
    format!("{PREFIX}-{lattice}-secrets")
}

/// The object store holding payloads too large for one NATS message while
/// their call lasts.
pub fn payload_bucket(lattice: &LatticeId) -> String {
    format!("{PREFIX}-{lattice}-payloads")
}

/// A control operation addressed to one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostOp {
    ActorStart,
    ActorStop,
    ActorScale,
    ActorUpdate,
    Inventory,
    Stop,
    LabelPut,
    LabelDel,
    ProviderStart,
    ProviderStop,
}

impl HostOp {
    pub const ALL: [HostOp; 10] = [
        HostOp::ActorStart,
        HostOp::ActorStop,
        HostOp::ActorScale,
        HostOp::ActorUpdate,
        HostOp::Inventory,
        HostOp::Stop,
        HostOp::LabelPut,
        HostOp::LabelDel,
        HostOp::ProviderStart,
        HostOp::ProviderStop,
    ];

    /// The subject tokens after `ctl.{host}.`.
    pub fn tokens(self) -> &'static str {
        match self {
            HostOp::ActorStart => "actor.start",
            HostOp::ActorStop => "actor.stop",
            HostOp::ActorScale => "actor.scale",
            HostOp::ActorUpdate => "actor.update",
            HostOp::Inventory => "inventory",
            HostOp::Stop => "stop",
            HostOp::LabelPut => "label.put",
            HostOp::LabelDel => "label.del",
            HostOp::ProviderStart => "provider.start",
            HostOp::ProviderStop => "provider.stop",
        }
    }

    fn from_tokens(tokens: &str) -> Option<HostOp> {
        HostOp::ALL.into_iter().find(|op| op.tokens() == tokens)
    }
}

/// What an auction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuctionKind {
    Actor,
    Provider,
}

impl AuctionKind {
    fn token(self) -> &'static str {
        match self {
            AuctionKind::Actor => "actor",
            AuctionKind::Provider => "provider",
        }
    }
}

/// What a host asks of its own provider replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderOp {
    Health,
    Shutdown,
}

impl ProviderOp {
    fn token(self) -> &'static str {
        match self {
            ProviderOp::Health => "health",
            ProviderOp::Shutdown => "shutdown",
        }
    }
}

/// A Floe subject, without its `floe.{lattice}.` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// `ctl.host.ping`: scatter-gather to every host.
    HostPing,
    /// `ctl.auction.actor|provider`: scatter-gather to hosts that fit.
    Auction(AuctionKind),
    /// `ctl.{host}.{op}`: request/reply to one host.
    Host { host: String, op: HostOp },
    /// `ctl.*.{op}`: one operation on any host (for observers).
    AnyHost(HostOp),
    /// `ctl.{host}.>`: everything addressed to one host (its subscription).
    HostAll { host: String },
    /// `rpc.{entity}`: invocations of one actor or provider.
    Rpc { entity: String },
    /// `log.{entity}`: what an actor logged, line by line (JSON).
    Log { entity: String },
    /// `log.>`: every actor's log lines (the log stream's subjects).
    AllLogs,
    /// `prov.{provider}.{host}.{op}`: a host to its own provider replica.
    Provider {
        provider: String,
        host: String,
        op: ProviderOp,
    },
    /// `evt.{type}`: CloudEvents.
    Event(EventType),
    /// `evt.>`: every event.
    AllEvents,
}

/// Why a string is not a Floe subject of the given lattice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Floe subject of this lattice")]
pub struct UnknownSubject(pub String);

impl Subject {
    /// The full subject on lattice `lattice`.
    pub fn render(&self, lattice: &LatticeId) -> String {
        format!("{PREFIX}.{lattice}.{self}")
    }

    /// Parses a full subject of lattice `lattice`.
    pub fn parse(lattice: &LatticeId, subject: &str) -> Result<Subject, UnknownSubject> {
        let unknown = || UnknownSubject(subject.to_owned());
        let rest = subject
            .strip_prefix(PREFIX)
            .and_then(|s| s.strip_prefix('.'))
            .and_then(|s| s.strip_prefix(lattice.as_str()))
            .and_then(|s| s.strip_prefix('.'))
            .ok_or_else(unknown)?;
        let (kind, rest) = rest.split_once('.').ok_or_else(unknown)?;
        let valid_token = |t: &str| !t.is_empty() && !t.contains(['.', '*', '>', ' ']);
        match kind {
            "ctl" => match rest {
                "host.ping" => Ok(Subject::HostPing),
                "auction.actor" => Ok(Subject::Auction(AuctionKind::Actor)),
                "auction.provider" => Ok(Subject::Auction(AuctionKind::Provider)),
                _ => {
                    let (host, op) = rest.split_once('.').ok_or_else(unknown)?;
                    let op = HostOp::from_tokens(op).ok_or_else(unknown)?;
                    if !valid_token(host) {
                        return Err(unknown());
                    }
                    Ok(Subject::Host {
                        host: host.to_owned(),
                        op,
                    })
                }
            },
            "rpc" if valid_token(rest) => Ok(Subject::Rpc {
                entity: rest.to_owned(),
            }),
            "log" if valid_token(rest) => Ok(Subject::Log {
                entity: rest.to_owned(),
            }),
            "prov" => {
                let mut parts = rest.split('.');
                let (Some(provider), Some(host), Some(op), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(unknown());
                };
                let op = match op {
                    "health" => ProviderOp::Health,
                    "shutdown" => ProviderOp::Shutdown,
                    _ => return Err(unknown()),
                };
                if !valid_token(provider) || !valid_token(host) {
                    return Err(unknown());
                }
                Ok(Subject::Provider {
                    provider: provider.to_owned(),
                    host: host.to_owned(),
                    op,
                })
            }
            "evt" => EventType::from_name(rest)
                .map(Subject::Event)
                .ok_or_else(unknown),
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::HostPing => f.write_str("ctl.host.ping"),
            Subject::Auction(kind) => write!(f, "ctl.auction.{}", kind.token()),
            Subject::Host { host, op } => write!(f, "ctl.{host}.{}", op.tokens()),
            Subject::AnyHost(op) => write!(f, "ctl.*.{}", op.tokens()),
            Subject::HostAll { host } => write!(f, "ctl.{host}.>"),
            Subject::Rpc { entity } => write!(f, "rpc.{entity}"),
            Subject::Log { entity } => write!(f, "log.{entity}"),
            Subject::AllLogs => f.write_str("log.>"),
            Subject::Provider { provider, host, op } => {
                write!(f, "prov.{provider}.{host}.{}", op.token())
            }
            Subject::Event(kind) => write!(f, "evt.{}", kind.name()),
            Subject::AllEvents => f.write_str("evt.>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lattice() -> LatticeId {
        "lab".parse().expect("valid")
    }

    #[test]
    fn concrete_subjects_round_trip() {
        let mut all = vec![
            Subject::HostPing,
            Subject::Auction(AuctionKind::Actor),
            Subject::Auction(AuctionKind::Provider),
            Subject::Rpc {
                entity: "MABC".to_owned(),
            },
            Subject::Log {
                entity: "MABC".to_owned(),
            },
            Subject::Provider {
                provider: "VABC".to_owned(),
                host: "NXYZ".to_owned(),
                op: ProviderOp::Health,
            },
            Subject::Provider {
                provider: "VABC".to_owned(),
                host: "NXYZ".to_owned(),
                op: ProviderOp::Shutdown,
            },
        ];
        all.extend(HostOp::ALL.map(|op| Subject::Host {
            host: "NXYZ".to_owned(),
            op,
        }));
        all.extend(EventType::ALL.map(Subject::Event));
        for subject in all {
            let text = subject.render(&lattice());
            assert!(text.starts_with("floe.lab."), "{text}");
            assert_eq!(Subject::parse(&lattice(), &text), Ok(subject), "{text}");
        }
    }

    #[test]
    fn foreign_and_malformed_subjects_are_refused() {
        let other: LatticeId = "other".parse().expect("valid");
        let text = Subject::HostPing.render(&other);
        assert!(Subject::parse(&lattice(), &text).is_err());
        for bad in [
            "floe.lab",
            "floe.lab.ctl",
            "floe.lab.ctl.N1.actor.explode",
            "floe.lab.rpc.",
            "floe.lab.rpc.a.b",
            "floe.lab.evt.no_such_event",
            "floe.lab.prov.V1.N1.explode",
            "floe.lab.prov.V1.health",
            "floe.labx.ctl.host.ping",
            "nats.lab.ctl.host.ping",
        ] {
            assert!(Subject::parse(&lattice(), bad).is_err(), "{bad}");
        }
        assert_eq!(
            Subject::AnyHost(HostOp::Inventory).render(&lattice()),
            "floe.lab.ctl.*.inventory"
        );
    }
}
