//! Replicas that follow load, as Kubernetes' HPA does: for each autoscaled
//! component, the leader wants `ceil(calls in flight / target)` replicas
//! (one more than now while calls are answered `busy`), within `min`,
//! `max` and the hosts that match. It adds replicas at once, and removes
//! them only once the load has stayed low for the component's
//! `scale-down-after`, to the highest need seen in that window. The wanted
//! count is the leader's memory; a new leader starts from the replicas
//! running, so a change of leader never starts a duplicate.

use std::collections::BTreeMap;

use floe_wire::app::{AppVersion, Autoscale, Component};
use floe_wire::events::ActorLoad;
use tokio::time::Instant;

use crate::plan::{HostView, running_replicas};

/// What the leader keeps about one autoscaled component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleState {
    pub replicas: u32,
    /// Since when fewer replicas would do, and the most needed since.
    low: Option<(Instant, u32)>,
}

/// A change of the wanted replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub component: String,
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// One pass's decision for one component: `running` replicas now, on at
/// most `eligible` matching hosts, under `load` summed over its replicas.
/// Fewer matching hosts (one lost for a moment) lower the wanted count
/// only after the window, like any other fall in need; until then the
/// planner places what the hosts allow ([`placed`]).
pub fn decide(
    state: &mut Option<ScaleState>,
    scale: &Autoscale,
    running: u32,
    eligible: u32,
    load: ActorLoad,
    now: Instant,
) -> Option<(u32, u32, String)> {
    let cap = scale.max.min(eligible).max(scale.min);
    let state = state.get_or_insert(ScaleState {
        replicas: running.clamp(scale.min, cap),
        low: None,
    });
    let in_flight = load.in_flight_milli as f64 / 1000.0;
    let target = f64::from(scale.target_in_flight.max(1));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let mut needed = (in_flight / target).ceil().min(f64::from(u32::MAX)) as u32;
    // Busy answers ask for one more than runs, once the last scale-up has
    // landed (a replica still starting is not yet serving).
    let busy = if load.busy > 0 && running >= state.replicas {
        needed = needed.max(running.saturating_add(1));
        format!(", {} answered busy", load.busy)
    } else {
        String::new()
    };
    let needed = needed.clamp(scale.min, cap);
    let what = format!(
        "{in_flight:.1} calls in flight for a target of {} per replica{busy}",
        scale.target_in_flight
    );
    let from = state.replicas;
    if needed > from {
        state.replicas = needed;
        state.low = None;
        return Some((from, needed, what));
    }
    if needed == from {
        state.low = None;
        return None;
    }
    let window = scale.scale_down_after();
    let (since, peak) = state.low.get_or_insert((now, needed));
    *peak = (*peak).max(needed);
    if now.duration_since(*since) < window {
        return None;
    }
    let to = *peak;
    state.replicas = to;
    state.low = None;
    Some((
        from,
        to,
        format!("{what}, for {}", humantime::format_duration(window)),
    ))
}

/// The version as the planner should place it: each autoscaled component
/// with the replicas wanted now (decided here), and the decisions taken;
/// `None` when no component autoscales (the version places as it is).
pub fn apply(
    version: &AppVersion,
    hosts: &[HostView],
    loads: &BTreeMap<String, ActorLoad>,
    states: &mut BTreeMap<String, ScaleState>,
) -> (Option<AppVersion>, Vec<Decision>) {
    let autoscales = |c: &Component| c.placement.autoscale.is_some();
    if !version.manifest.components.iter().any(autoscales) {
        return (None, Vec::new());
    }
    let mut scaled = version.clone();
    let mut decisions = Vec::new();
    let now = Instant::now();
    for component in &mut scaled.manifest.components {
        let Some(scale) = component.placement.autoscale.clone() else {
            continue;
        };
        let running = running_replicas(hosts, &version.manifest.name, component);
        // Loads are summed over hosts already, by actor id.
        let ids: std::collections::BTreeSet<&String> = running.iter().collect();
        let load = ids.into_iter().fold(ActorLoad::default(), |sum, id| {
            let one = loads.get(id).copied().unwrap_or_default();
            ActorLoad {
                in_flight_milli: sum.in_flight_milli.saturating_add(one.in_flight_milli),
                busy: sum.busy.saturating_add(one.busy),
            }
        });
        let eligible = eligible_hosts(component, hosts);
        let count = u32::try_from(running.len()).unwrap_or(u32::MAX);
        let mut state = states.remove(&component.name);
        if let Some((from, to, reason)) = decide(&mut state, &scale, count, eligible, load, now) {
            decisions.push(Decision {
                component: component.name.clone(),
                from,
                to,
                reason,
            });
        }
        if let Some(state) = state {
            component.placement.replicas = Some(placed(&state, &scale, eligible));
            states.insert(component.name.clone(), state);
        }
    }
    (Some(scaled), decisions)
}

/// The replicas to place now: the wanted count, within the hosts that
/// match (never below `min`: the planner says what is impossible).
fn placed(state: &ScaleState, scale: &Autoscale, eligible: u32) -> u32 {
    state.replicas.min(eligible).max(scale.min)
}

fn eligible_hosts(component: &Component, hosts: &[HostView]) -> u32 {
    let groups = component.placement.spread.len();
    let fits = |h: &&HostView| {
        if groups == 0 {
            component.host_matches(&h.labels, None)
        } else {
            (0..groups).any(|g| component.host_matches(&h.labels, Some(g)))
        }
    };
    u32::try_from(hosts.iter().filter(fits).count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn scale() -> Autoscale {
        Autoscale {
            min: 1,
            max: 3,
            target_in_flight: 2,
            scale_down_after: Some("10s".into()),
        }
    }

    fn load(in_flight: f64, busy: u64) -> ActorLoad {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let in_flight_milli = (in_flight * 1000.0) as u64;
        ActorLoad {
            in_flight_milli,
            busy,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn up_at_once_down_after_the_window_to_the_peak_of_it() {
        let scale = scale();
        let mut state = None;
        // A new leader starts from what runs.
        assert_eq!(
            decide(&mut state, &scale, 1, 3, load(0.5, 0), Instant::now()),
            None
        );
        let (from, to, reason) =
            decide(&mut state, &scale, 1, 3, load(5.0, 0), Instant::now()).expect("up");
        assert_eq!((from, to), (1, 3), "ceil(5 / 2), within max");
        assert!(reason.contains("5.0 calls in flight"), "{reason}");
        // Low for less than the window: nothing.
        assert_eq!(
            decide(&mut state, &scale, 3, 3, load(0.0, 0), Instant::now()),
            None
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        // A need of 2 within the window is remembered.
        assert_eq!(
            decide(&mut state, &scale, 3, 3, load(3.0, 0), Instant::now()),
            None
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        let (from, to, reason) =
            decide(&mut state, &scale, 3, 3, load(0.0, 0), Instant::now()).expect("down");
        assert_eq!((from, to), (3, 2), "the peak of the window");
        assert!(reason.contains("for 10s"), "{reason}");
        // Back to the need: the low window starts over.
        assert_eq!(
            decide(&mut state, &scale, 2, 3, load(4.0, 0), Instant::now()),
            None
        );
    }

    #[tokio::test(start_paused = true)]
    async fn busy_answers_add_one_and_hosts_cap_it() {
        let scale = scale();
        let mut state = None;
        let (from, to, reason) =
            decide(&mut state, &scale, 1, 3, load(0.1, 4), Instant::now()).expect("up");
        assert_eq!((from, to), (1, 2));
        assert!(reason.contains("4 answered busy"), "{reason}");
        // Still busy while the new replica starts: no more than one more.
        assert_eq!(
            decide(&mut state, &scale, 1, 3, load(0.1, 4), Instant::now()),
            None
        );
        // One host left for a moment: one is placed, two still wanted.
        assert_eq!(
            decide(&mut state, &scale, 2, 1, load(50.0, 0), Instant::now()),
            None,
            "a host lost for a moment is no reason to want fewer"
        );
        let wanted = state.clone().expect("state");
        assert_eq!(wanted.replicas, 2);
        assert_eq!(placed(&wanted, &scale, 1), 1, "within the hosts that match");
        assert_eq!(placed(&wanted, &scale, 3), 2);
    }
}
