//! Drain (docs/controller.md, "Drain"; feature `evacuation`): a backend with load factor 0 (evacuated backends
//! have it too) is emptied one group at a time through the normal move machinery. Load-balancing
//! cool times do not apply; a backend that already has a group moving away waits for it.
//!
//! Destination: online, reachable, load factor > 0 and not itself draining; the one with the
//! fewest groups per unit of load factor, so capacity fills in proportion.

use chrono::{DateTime, Utc};

use super::{
    Action, BackendState, Decision, DecisionInputs, EvacuationInputs, GroupState, GroupsByBackend, IdMap, Reason,
};
use crate::feature::Feature;

/// True for a backend the operators asked to empty.
pub fn draining(b: &BackendState) -> bool {
    b.load_factor <= 0
}

/// Plans one pass: at most one move per draining backend.
pub fn plan(backends: &[BackendState], groups: &[GroupState], now: DateTime<Utc>) -> Vec<Decision> {
    let by_backend = GroupsByBackend::new(groups);
    // Groups per backend, counting those sent to it earlier in this pass.
    let mut counts: IdMap<u64> = backends.iter().map(|b| (b.id, by_backend.of(b.id).len() as u64)).collect();
    let mut decisions = Vec::new();
    for b in backends.iter().filter(|b| draining(b)) {
        let owned = counts.get(&b.id).copied().unwrap_or(0);
        if owned == 0 {
            continue;
        }
        let mut numbers =
            EvacuationInputs { backend: b.id, groups_left: owned, load_factor: b.load_factor, group_users: None };
        let decision = |reason: Reason,
                        action: Option<Action>,
                        summary: String,
                        numbers: &EvacuationInputs,
                        rejected: Vec<(String, String)>| Decision {
            feature: Feature::Evacuation,
            reason,
            action,
            summary,
            inputs: DecisionInputs::Evacuation(numbers.clone()),
            rejected,
        };
        if by_backend.of(b.id).iter().any(|g| g.moving) {
            let summary = format!("draining {}: {owned} groups left, one is moving now", b.host);
            decisions.push(decision(Reason::GroupMovingAway, None, summary, &numbers, vec![]));
            continue;
        }
        let mut rejected = Vec::new();
        let mut best: Option<(&crate::planning::BackendState, f64)> = None;
        for d in backends.iter().filter(|d| d.id != b.id) {
            let why = if !d.online() {
                Some("not online")
            } else if !d.reachable {
                Some("doveadm API unreachable")
            } else if draining(d) {
                Some("load factor 0")
            } else {
                None
            };
            match why {
                Some(reason) => rejected.push((d.host.clone(), reason.to_string())),
                None => {
                    let fill = counts.get(&d.id).copied().unwrap_or(0) as f64 / f64::from(d.load_factor.clamp(1, 100));
                    if best.is_none_or(|(_, f)| fill < f) {
                        best = Some((d, fill));
                    }
                }
            }
        }
        let Some((dest, _)) = best else {
            let summary = format!("draining {}: no backend can take its groups", b.host);
            decisions.push(decision(Reason::NoDestination, None, summary, &numbers, rejected));
            continue;
        };
        // Sticky-backend groups stay: an operator pinned them and must move them by hand.
        let Some(group) = by_backend.pick(b.id, now, std::time::Duration::ZERO) else {
            let summary = format!("draining {}: {owned} groups left, none movable (sticky)", b.host);
            decisions.push(decision(Reason::NoMovableGroup, None, summary, &numbers, rejected));
            continue;
        };
        numbers.group_users = Some(group.users);
        *counts.entry(dest.id).or_default() += 1;
        decisions.push(decision(
            Reason::Draining,
            Some(Action::MoveGroup { group: group.name.clone(), from: b.id, to: dest.id }),
            format!("draining {} ({owned} groups left): move {} to {}", b.host, group.name, dest.host),
            &numbers,
            rejected,
        ));
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::fixtures::{self, backend_with as backend};

    fn group(name: &str, on: u128) -> GroupState {
        fixtures::group(name, on, 10)
    }

    fn moves(decisions: &[Decision]) -> Vec<(String, u128)> {
        decisions
            .iter()
            .filter_map(|d| match &d.action {
                Some(Action::MoveGroup { group, to, .. }) => Some((group.clone(), to.as_u128())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_destination_counts_the_groups_sent_to_it_earlier_in_the_pass() {
        let backends = [backend(1, 0), backend(2, 0), backend(3, 100), backend(4, 100)];
        let groups = [group("g1", 1), group("g2", 2), group("g3", 3), group("g4", 4)];
        // be3 and be4 hold one group each; be3 comes first, so it takes g1 and then has two.
        let decisions = plan(&backends, &groups, Utc::now());
        assert_eq!(moves(&decisions), [("g1".to_string(), 3), ("g2".to_string(), 4)]);
    }

    #[test]
    fn a_backend_with_a_group_moving_away_waits() {
        let backends = [backend(1, 0), backend(2, 100)];
        let groups = [group("g1", 1), GroupState { moving: true, ..group("g2", 1) }, group("g3", 2)];
        let decisions = plan(&backends, &groups, Utc::now());
        assert_eq!(decisions.len(), 1);
        assert!(decisions[0].action.is_none(), "{}", decisions[0].summary);
        assert!(decisions[0].summary.contains("one is moving now"), "{}", decisions[0].summary);
    }
}
