//! Drain (docs/controller.md, "Drain"; feature `evacuation`): a backend with load factor 0 (evacuated backends
//! have it too) is emptied one group at a time through the normal move machinery. Load-balancing
//! cool times do not apply; a backend that already has a group moving away waits for it.
//!
//! Destination: online, reachable, load factor > 0 and not itself draining; the one with the
//! fewest groups per unit of load factor, so capacity fills in proportion.
//!
//! The same feature repairs groups' alternative backends ([`repair_alternatives`]).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Action, AltRepairInputs, BackendState, Decision, DecisionInputs, EvacuationInputs, GroupState, IdMap, Reason,
    Rejections, SiteGroups,
};
use crate::{feature::Feature, routing::stable_hash};

/// True for a backend the operators asked to empty.
pub fn draining(b: &BackendState) -> bool {
    b.load_factor <= 0
}

/// Plans one pass: at most one move per draining backend.
pub fn plan(backends: &[BackendState], groups: &SiteGroups, now: DateTime<Utc>) -> Vec<Decision> {
    if !backends.iter().any(draining) {
        return Vec::new();
    }
    let by_backend = groups.by_backend();
    // Groups per backend by position, counting those sent to it earlier in this pass.
    let mut counts: Vec<u64> = backends.iter().map(|b| by_backend.of(b.id).len() as u64).collect();
    // Why each backend cannot take groups: judged once, since each draining backend weighs
    // every other.
    let unfit: Vec<Option<&'static str>> = backends.iter().map(unfit_destination).collect();
    let mut decisions = Vec::new();
    for (at, b) in backends.iter().enumerate().filter(|(_, b)| draining(b)) {
        let owned = counts[at];
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
        let mut rejected = Rejections::default();
        let mut best: Option<(usize, f64)> = None;
        for (i, d) in backends.iter().enumerate().filter(|(_, d)| d.id != b.id) {
            match unfit[i] {
                Some(reason) => rejected.push(&d.host, reason),
                None => {
                    let fill = counts[i] as f64 / f64::from(d.load_factor.clamp(1, 100));
                    if best.is_none_or(|(_, f)| fill < f) {
                        best = Some((i, fill));
                    }
                }
            }
        }
        let Some((dest_at, _)) = best else {
            let summary = format!("draining {}: no backend can take its groups", b.host);
            decisions.push(decision(Reason::NoDestination, None, summary, &numbers, rejected.into_vec()));
            continue;
        };
        // Sticky-backend groups stay: an operator pinned them and must move them by hand.
        let Some(group) = by_backend.pick(b.id, now, std::time::Duration::ZERO) else {
            let summary = format!("draining {}: {owned} groups left, none movable (sticky)", b.host);
            decisions.push(decision(Reason::NoMovableGroup, None, summary, &numbers, rejected.into_vec()));
            continue;
        };
        numbers.group_users = Some(group.users);
        counts[dest_at] += 1;
        let dest = &backends[dest_at];
        decisions.push(decision(
            Reason::Draining,
            Some(Action::MoveGroup { group: group.name.clone(), from: b.id, to: dest.id }),
            format!("draining {} ({owned} groups left): move {} to {}", b.host, group.name, dest.host),
            &numbers,
            rejected.into_vec(),
        ));
    }
    decisions
}

/// Why `d` cannot take a draining backend's groups.
fn unfit_destination(d: &BackendState) -> Option<&'static str> {
    if !d.online() {
        Some("not online")
    } else if !d.reachable {
        Some("doveadm API unreachable")
    } else if draining(d) {
        Some("load factor 0")
    } else {
        None
    }
}

/// Groups whose alternative backend (`alt_backend_id`, where proxies send the group's users
/// while its backend is offline or standby) cannot take them get a new one: the alternative is
/// missing, removed, the group's own backend, not online, or at load factor 0. The new one is
/// online, answers its doveadm API, takes load and is not the group's own backend; among those,
/// one picked by the group's name, so that the groups of a drained backend spread. Moving groups
/// are left alone (their alternative is the move's destination). At most `most` per pass.
pub fn repair_alternatives(backends: &[BackendState], groups: &[GroupState], most: usize) -> Vec<Decision> {
    let takes_users = |b: &BackendState| b.online() && b.reachable && !draining(b);
    // Indexed once: a pass over 100,000 groups must not scan the backends for each.
    let by_id: IdMap<&BackendState> = backends.iter().map(|b| (b.id, b)).collect();
    let find = |id: Uuid| by_id.get(&id).copied();
    let takers: Vec<&BackendState> = backends.iter().filter(|b| takes_users(b)).collect();
    let taker_at: IdMap<usize> = takers.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
    let mut decisions = Vec::new();
    for g in groups.iter().filter(|g| !g.moving) {
        if decisions.len() >= most {
            break;
        }
        let Some(own) = g.backend_id.and_then(find) else { continue };
        let current = g.alt_backend_id.and_then(find);
        if current.is_some_and(|alt| alt.id != own.id && alt.online() && !draining(alt)) {
            continue;
        }
        // The takers other than the group's own backend, in site order: the `k`th of them.
        let own_at = taker_at.get(&own.id).copied();
        let candidates = takers.len() - usize::from(own_at.is_some());
        if candidates == 0 {
            continue;
        }
        let k = usize::try_from(stable_hash(&g.name) % candidates as u64).unwrap_or(0);
        let pick = takers[if own_at.is_some_and(|at| k >= at) { k + 1 } else { k }];
        let why = match current {
            None if g.alt_backend_id.is_some() => "is not a backend of the site".to_string(),
            None => "is not set".to_string(),
            Some(alt) if alt.id == own.id => "is the group's own backend".to_string(),
            Some(alt) if draining(alt) => format!("{} is draining", alt.host),
            Some(alt) => format!("{} is {}", alt.host, alt.status.as_str()),
        };
        decisions.push(Decision {
            feature: Feature::Evacuation,
            reason: Reason::AltBackendUnusable,
            action: Some(Action::SetAltBackend { group: g.name.clone(), alt: pick.id }),
            summary: format!("{}: its alternative {why}: now {}", g.name, pick.host),
            inputs: DecisionInputs::AltRepair(AltRepairInputs {
                group: g.name.clone(),
                backend: own.host.clone(),
                alt_before: current.map(|b| b.host.clone()),
                alt_before_id: g.alt_backend_id,
                alt: pick.host.clone(),
            }),
            rejected: vec![],
        });
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
        let decisions = plan(&backends, &SiteGroups::new(&groups), Utc::now());
        assert_eq!(moves(&decisions), [("g1".to_string(), 3), ("g2".to_string(), 4)]);
    }

    #[test]
    fn a_backend_with_a_group_moving_away_waits() {
        let backends = [backend(1, 0), backend(2, 100)];
        let groups = [group("g1", 1), GroupState { moving: true, ..group("g2", 1) }, group("g3", 2)];
        let decisions = plan(&backends, &SiteGroups::new(&groups), Utc::now());
        assert_eq!(decisions.len(), 1);
        assert!(decisions[0].action.is_none(), "{}", decisions[0].summary);
        assert!(decisions[0].summary.contains("one is moving now"), "{}", decisions[0].summary);
    }

    #[test]
    fn a_groups_unusable_alternative_is_pointed_at_a_backend_that_takes_users() {
        let mut offline = backend(3, 100);
        offline.status = crate::geodb::BackendStatus::Offline;
        let backends = [backend(1, 100), backend(2, 0), offline, backend(4, 100)];
        let with_alt = |name: &str, on: u128, alt: Option<u128>| GroupState {
            alt_backend_id: alt.map(Uuid::from_u128),
            ..group(name, on)
        };
        let groups = [
            with_alt("fine", 1, Some(4)),
            with_alt("draining", 1, Some(2)),
            with_alt("offline", 1, Some(3)),
            with_alt("itself", 1, Some(1)),
            with_alt("unset", 1, None),
            with_alt("removed", 1, Some(9)),
            GroupState { moving: true, ..with_alt("moving", 1, Some(3)) },
        ];
        let decisions = repair_alternatives(&backends, &groups, 100);
        let repaired: Vec<(&str, Option<Action>)> =
            decisions.iter().map(|d| (d.summary.split(':').next().unwrap_or(""), d.action.clone())).collect();
        let to_be4 = |g: &str| Some(Action::SetAltBackend { group: g.into(), alt: Uuid::from_u128(4) });
        // be4 is the only backend other than be1 that takes users.
        assert_eq!(repaired, ["draining", "offline", "itself", "unset", "removed"].map(|g| (g, to_be4(g))).to_vec());
        assert!(decisions[1].summary.contains("be3 is offline"), "{}", decisions[1].summary);
        assert_eq!(repair_alternatives(&backends, &groups, 2).len(), 2, "at most `most` per pass");
    }
}
