//! `floe watch [--type T]… [--count N]`: the lattice's events as they
//! happen, one readable line (or one JSON object) each. Only events whose
//! lattice MAC verifies are shown; others are counted and reported.

use anyhow::Context as _;
use floe_wire::{CloudEvent, Subject};
use futures::StreamExt as _;

use super::lattice::Lattice;
use clap::Args;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only events of this type (repeatable), e.g. actor_started, provider_restarted.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<EventTypeArg>,
    /// Stop after this many events.
    #[arg(long)]
    pub count: Option<usize>,
}

/// An event type named on the command line (`actor_started`, …).
#[derive(Debug, Clone, Copy)]
pub struct EventTypeArg(pub floe_wire::EventType);

impl std::str::FromStr for EventTypeArg {
    type Err = crate::args::BadArg;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        floe_wire::EventType::from_name(name)
            .map(EventTypeArg)
            .ok_or_else(|| {
                let known: Vec<&str> = floe_wire::EventType::ALL.iter().map(|e| e.name()).collect();
                crate::args::BadArg(format!(
                    "`{name}` is not an event type; use one of: {}",
                    known.join(", ")
                ))
            })
    }
}

pub async fn watch(ctx: &Lattice, args: &WatchArgs) -> anyhow::Result<()> {
    let lattice = ctx.client.lattice();
    let nats = ctx.client.nats();
    let subjects: Vec<String> = if args.types.is_empty() {
        vec![Subject::AllEvents.render(lattice)]
    } else {
        args.types
            .iter()
            .map(|t| Subject::Event(t.0).render(lattice))
            .collect()
    };
    let mut streams = Vec::new();
    for subject in &subjects {
        let sub = nats
            .subscribe(subject.clone())
            .await
            .with_context(|| format!("cannot subscribe to {subject}"))?;
        streams.push(sub);
    }
    nats.flush().await.context("cannot reach NATS")?;
    if ctx.global.output.is_text() {
        eprintln!("Watching events on lattice `{lattice}` (Ctrl-C to stop)…");
    }
    let mut events = futures::stream::select_all(streams);
    let (mut shown, mut refused) = (0usize, 0usize);
    while args.count.is_none_or(|n| shown < n) {
        let Some(message) = events.next().await else {
            break;
        };
        if ctx.client.auth().verify(&message).is_err() {
            refused += 1;
            if refused.is_power_of_two() {
                eprintln!("warning: {refused} event(s) ignored: their lattice MAC does not verify");
            }
            continue;
        }
        let Ok(event) = serde_json::from_slice::<CloudEvent>(&message.payload) else {
            refused += 1;
            continue;
        };
        let written = if ctx.global.output.is_text() {
            crate::output::write_stdout(format!("{}\n", describe(&event)).as_bytes())
        } else {
            crate::output::print_record(ctx.global.output, &event)
        };
        // The reader went away (`| head`): stop quietly.
        if crate::output::stdout_closed() {
            break;
        }
        written?;
        shown += 1;
    }
    Ok(())
}

/// One readable line: time, type, source, and the data's key facts.
fn describe(event: &CloudEvent) -> String {
    let kind: &str = match event.event_type() {
        Some(known) => known.name(),
        None => &event.kind,
    };
    let facts: Vec<String> = match &event.data {
        serde_json::Value::Object(fields) => fields
            .iter()
            .filter(|(_, v)| !v.is_object() && !v.is_array())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect(),
        _ => Vec::new(),
    };
    format!(
        "{}  {kind:<24} {}  {}",
        event.time,
        event.source,
        facts.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_wire::EventType;

    #[test]
    fn lines_carry_type_source_and_flat_facts() {
        let event = CloudEvent::new(
            EventType::ActorStarted,
            "NHOST",
            "2026-11-27T10:00:00Z".into(),
            serde_json::json!({"actor_id": "MECHO", "max_concurrent": 4, "claims": {"a": 1}}),
        );
        let line = describe(&event);
        assert!(
            line.starts_with("2026-11-27T10:00:00Z  actor_started"),
            "{line}"
        );
        assert!(line.contains("NHOST"), "{line}");
        assert!(line.contains("actor_id=MECHO max_concurrent=4"), "{line}");
        assert!(!line.contains("claims"), "{line}");
    }
}
