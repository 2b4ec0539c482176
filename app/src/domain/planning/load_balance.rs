//! Backend load balancing (spec c.4, c.5): sum each eligible backend's Z-scores; if the worst
//! minus the best exceeds the threshold, move one group from the worst to the best. Skip while
//! any move is active, inside the per-host cool time, or without enough samples; never a
//! sticky-backend group, a group moved within its cool time, or a destination with load factor 0.
//!
//! Load factor: a backend's score is compared against its share of the load; with
//! `score + 1 - load_factor/100`, a backend at load factor 50 counts as half a standard
//! deviation busier, so it gives groups away earlier and receives them later.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};

use super::{cooled, pick_group, Action, BackendState, Decision, GroupState};
use crate::domain::feature::Feature;
use crate::domain::metrics::{HostScore, SCORED_RESOURCES};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadBalanceSettings {
    pub min_samples: u64,
    pub delta_threshold: f64,
    pub group_cool_time: Duration,
    pub host_cool_time: Duration,
}

/// Plans one pass: at most one move.
pub fn plan(
    backends: &[BackendState],
    groups: &[GroupState],
    scores: &[HostScore],
    last_move: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    s: &LoadBalanceSettings,
) -> Decision {
    let decision = |summary: String, inputs: BTreeMap<String, f64>, rejected: Vec<(String, String)>| Decision {
        feature: Feature::LoadBalance,
        action: None,
        summary,
        inputs,
        rejected,
    };
    if groups.iter().any(|g| g.moving) {
        return decision("a group move is in progress: no load balancing now".into(), BTreeMap::new(), vec![]);
    }
    if !cooled(last_move, now, s.host_cool_time) {
        return decision("the last load-balancing move is within the cool time".into(), BTreeMap::new(), vec![]);
    }
    let mut rejected = Vec::new();
    let mut scored: Vec<(&BackendState, f64)> = Vec::new();
    for b in backends {
        if !b.online() || !b.reachable {
            rejected.push((b.host.clone(), "not online or unreachable".into()));
            continue;
        }
        let mine: Vec<&HostScore> = scores.iter().filter(|s| s.host == b.host).collect();
        let enough =
            SCORED_RESOURCES.iter().all(|r| mine.iter().any(|x| x.score == *r && x.samples_24h >= s.min_samples));
        if !enough {
            rejected.push((b.host.clone(), format!("fewer than {} samples in 24 h", s.min_samples)));
            continue;
        }
        let sum: f64 = mine.iter().map(|x| x.average).sum();
        let adjusted = sum + 1.0 - f64::from(b.load_factor.clamp(0, 100)) / 100.0;
        scored.push((b, adjusted));
    }
    let mut inputs: BTreeMap<String, f64> =
        scored.iter().map(|(b, score)| (format!("score:{}", b.host), *score)).collect();
    inputs.insert("threshold".into(), s.delta_threshold);
    let Some(&(worst, worst_score)) = scored.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return decision("no backend has enough data".into(), inputs, rejected);
    };
    let receivers: Vec<&(&BackendState, f64)> =
        scored.iter().filter(|(b, _)| b.id != worst.id && b.load_factor > 0).collect();
    let Some(&&(best, best_score)) = receivers.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
        return decision("no other backend can take a group".into(), inputs, rejected);
    };
    let delta = worst_score - best_score;
    inputs.insert("delta".into(), delta);
    if delta <= s.delta_threshold {
        return decision(format!("balanced enough: {:.2} ≤ {:.2}", delta, s.delta_threshold), inputs, rejected);
    }
    let Some(group) = pick_group(groups, worst.id, now, s.group_cool_time) else {
        return decision(format!("{} is busiest but has no movable group", worst.host), inputs, rejected);
    };
    Decision {
        feature: Feature::LoadBalance,
        action: Some(Action::MoveGroup { group: group.name.clone(), from: worst.id, to: best.id }),
        summary: format!(
            "move {} from {} (score {:.2}) to {} (score {:.2}): delta {:.2} > {:.2}",
            group.name, worst.host, worst_score, best.host, best_score, delta, s.delta_threshold
        ),
        inputs,
        rejected,
    }
}
