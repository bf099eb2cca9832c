//! Lattice events: the one enum of event types, the CloudEvents 1.0
//! envelope they travel in on `evt.{type}`, and the `data` of each.
//! `host_started`/`host_stopped` carry a `HostInfo`, `actor_started`/
//! `actor_updated` an `ActorStarted` (both in `control`).

use serde::{Deserialize, Serialize};

/// Every event a Floe process publishes. Add here; never spell one by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    HostStarted,
    HostHeartbeat,
    HostStopped,
    HostLost,
    ActorStarted,
    ActorStartFailed,
    ActorScaled,
    ActorUpdated,
    ActorStopped,
    ProviderStarted,
    ProviderStartFailed,
    ProviderHealthChanged,
    ProviderRestarted,
    ProviderStopped,
    LinkPut,
    LinkDeleted,
    AppDeployed,
    AppReconciling,
    AppFailed,
    AppDeleted,
    AppScaled,
}

impl EventType {
    pub const ALL: [EventType; 21] = [
        EventType::HostStarted,
        EventType::HostHeartbeat,
        EventType::HostStopped,
        EventType::HostLost,
        EventType::ActorStarted,
        EventType::ActorStartFailed,
        EventType::ActorScaled,
        EventType::ActorUpdated,
        EventType::ActorStopped,
        EventType::ProviderStarted,
        EventType::ProviderStartFailed,
        EventType::ProviderHealthChanged,
        EventType::ProviderRestarted,
        EventType::ProviderStopped,
        EventType::LinkPut,
        EventType::LinkDeleted,
        EventType::AppDeployed,
        EventType::AppReconciling,
        EventType::AppFailed,
        EventType::AppDeleted,
        EventType::AppScaled,
    ];

    /// The snake_case name used in subjects and as the CloudEvent type suffix.
    pub fn name(self) -> &'static str {
        match self {
            EventType::HostStarted => "host_started",
            EventType::HostHeartbeat => "host_heartbeat",
            EventType::HostStopped => "host_stopped",
            EventType::HostLost => "host_lost",
            EventType::ActorStarted => "actor_started",
            EventType::ActorStartFailed => "actor_start_failed",
            EventType::ActorScaled => "actor_scaled",
            EventType::ActorUpdated => "actor_updated",
            EventType::ActorStopped => "actor_stopped",
            EventType::ProviderStarted => "provider_started",
            EventType::ProviderStartFailed => "provider_start_failed",
            EventType::ProviderHealthChanged => "provider_health_changed",
            EventType::ProviderRestarted => "provider_restarted",
            EventType::ProviderStopped => "provider_stopped",
            EventType::LinkPut => "link_put",
            EventType::LinkDeleted => "link_deleted",
            EventType::AppDeployed => "app_deployed",
            EventType::AppReconciling => "app_reconciling",
            EventType::AppFailed => "app_failed",
            EventType::AppDeleted => "app_deleted",
            EventType::AppScaled => "app_scaled",
        }
    }

    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The CloudEvent `type` attribute: `dev.floe.{name}`.
    pub fn cloud_event_type(self) -> String {
        format!("dev.floe.{}", self.name())
    }
}

/// `data` of `actor_stopped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorStoppedData {
    pub actor_id: String,
    pub host_id: String,
}

/// `data` of `actor_scaled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorScaledData {
    pub actor_id: String,
    pub host_id: String,
    pub max_concurrent: u32,
}

/// `data` of `actor_start_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorStartFailedData {
    pub reference: String,
    pub host_id: String,
    pub error: String,
}

/// `data` of `host_heartbeat`: the host's summary, and a digest of what it
/// runs as placement sees it, so the reconciler's leader asks for a host's
/// inventory only when that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatData {
    #[serde(flatten)]
    pub host: crate::control::HostInfo,
    /// Changes whenever the host's labels, actors (id, version, reference,
    /// max-concurrent, annotations) or providers (id, reference, health,
    /// annotations) change; empty from hosts that do not say.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub placement_digest: String,
    /// What it runs, from hosts of before `placement_digest` (no longer
    /// sent: an inventory request tells it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors_running: Vec<ActorSummary>,
    /// Per actor with calls since the last heartbeat: its load then.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub load: std::collections::BTreeMap<String, ActorLoad>,
}

/// One actor's load on one host over one heartbeat period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorLoad {
    /// Calls in flight on average, in thousandths (busy time / period).
    pub in_flight_milli: u64,
    /// Calls answered `busy` (no instance free and the queue full).
    #[serde(default)]
    pub busy: u64,
}

/// `data` of `app_scaled`: the reconciler changed how many replicas an
/// autoscaled component wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppScaledData {
    pub app: String,
    pub component: String,
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// One actor in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorSummary {
    pub actor_id: String,
    pub name: String,
    pub version: String,
    pub max_concurrent: u32,
}

/// A CloudEvents 1.0 event in structured JSON mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    /// The publishing entity (a host id).
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339 time.
    pub time: String,
    pub datacontenttype: String,
    pub data: serde_json::Value,
}

impl CloudEvent {
    /// A new event of `kind` from `source` at `time` (RFC 3339).
    pub fn new(kind: EventType, source: &str, time: String, data: serde_json::Value) -> Self {
        CloudEvent {
            specversion: "1.0".to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.to_owned(),
            kind: kind.cloud_event_type(),
            time,
            datacontenttype: "application/json".to_owned(),
            data,
        }
    }

    /// The event type, when it is one Floe knows.
    pub fn event_type(&self) -> Option<EventType> {
        self.kind
            .strip_prefix("dev.floe.")
            .and_then(EventType::from_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|e| e.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        for e in EventType::ALL {
            assert_eq!(EventType::from_name(e.name()), Some(e));
            let json = serde_json::to_string(&e).expect("json");
            assert_eq!(json, format!("\"{}\"", e.name()));
        }
        let ev = CloudEvent::new(
            EventType::ActorStarted,
            "N1",
            "t".into(),
            serde_json::json!({}),
        );
        assert_eq!(ev.event_type(), Some(EventType::ActorStarted));
    }
}
