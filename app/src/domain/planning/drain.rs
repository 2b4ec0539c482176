//! Drain (spec c.7, feature `evacuation`): a backend with load factor 0 (evacuated backends
//! have it too) is emptied one group at a time through the normal move machinery. Load-balancing
//! cool times do not apply; a backend that already has a group moving away waits for it.
//!
//! Destination: online, reachable, load factor > 0 and not itself draining; the one with the
//! fewest groups per unit of load factor, so capacity fills in proportion.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{pick_group, Action, BackendState, Decision, GroupState};
use crate::domain::feature::Feature;

/// True for a backend the operators asked to empty.
pub fn draining(b: &BackendState) -> bool {
    b.load_factor <= 0
}

/// Plans one pass: at most one move per draining backend.
pub fn plan(backends: &[BackendState], groups: &[GroupState], now: DateTime<Utc>) -> Vec<Decision> {
    let mut counts: BTreeMap<uuid::Uuid, u64> = BTreeMap::new();
    for g in groups {
        if let Some(b) = g.backend_id {
            *counts.entry(b).or_default() += 1;
        }
    }
    let mut decisions = Vec::new();
    for b in backends.iter().filter(|b| draining(b)) {
        let owned = counts.get(&b.id).copied().unwrap_or(0);
        if owned == 0 {
            continue;
        }
        let mut inputs = BTreeMap::from([
            ("groups_left".to_string(), owned as f64),
            ("load_factor".to_string(), f64::from(b.load_factor)),
        ]);
        if groups.iter().any(|g| g.moving && g.backend_id == Some(b.id)) {
            decisions.push(Decision {
                feature: Feature::Evacuation,
                action: None,
                summary: format!("draining {}: {owned} groups left, one is moving now", b.host),
                inputs,
                rejected: vec![],
            });
            continue;
        }
        let mut rejected = Vec::new();
        let mut best: Option<(&crate::domain::planning::BackendState, f64)> = None;
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
            decisions.push(Decision {
                feature: Feature::Evacuation,
                action: None,
                summary: format!("draining {}: no backend can take its groups", b.host),
                inputs,
                rejected,
            });
            continue;
        };
        // Sticky-backend groups stay: an operator pinned them and must move them by hand.
        let Some(group) = pick_group(groups, b.id, now, std::time::Duration::ZERO) else {
            decisions.push(Decision {
                feature: Feature::Evacuation,
                action: None,
                summary: format!("draining {}: {owned} groups left, none movable (sticky)", b.host),
                inputs,
                rejected,
            });
            continue;
        };
        inputs.insert("group_users".into(), group.users as f64);
        *counts.entry(dest.id).or_default() += 1;
        decisions.push(Decision {
            feature: Feature::Evacuation,
            action: Some(Action::MoveGroup { group: group.name.clone(), from: b.id, to: dest.id }),
            summary: format!("draining {} ({owned} groups left): move {} to {}", b.host, group.name, dest.host),
            inputs,
            rejected,
        });
    }
    decisions
}
