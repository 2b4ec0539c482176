//! Backend load balancing (docs/controller.md, "Load balancing"): sum each eligible backend's Z-scores; if the worst
//! minus the best exceeds the threshold, move one group from the worst to the best. Skip while
//! any move is active, inside the per-host cool time, or without enough samples; never a
//! sticky-backend group, a group moved within its cool time, or a destination with load factor 0.
//!
//! Load factor: a backend's score is compared against its share of the load; with
//! `score + 1 - load_factor/100`, a backend at load factor 50 counts as half a standard
//! deviation busier, so it gives groups away earlier and receives them later.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};

use super::{
    cooled, Action, BackendState, Decision, DecisionInputs, LoadBalanceInputs, Reason, Rejections, SiteGroups,
};
use crate::feature::Feature;
use crate::metrics::{HostScore, SCORED_RESOURCES};

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
    groups: &SiteGroups,
    scores: &[HostScore],
    last_move: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    s: &LoadBalanceSettings,
) -> Decision {
    let decision =
        |reason: Reason, summary: String, inputs: LoadBalanceInputs, rejected: Vec<(String, String)>| Decision {
            feature: Feature::LoadBalance,
            reason,
            action: None,
            summary,
            inputs: DecisionInputs::LoadBalance(inputs),
            rejected,
        };
    if groups.all().iter().any(|g| g.moving) {
        let summary = "a group move is in progress: no load balancing now".into();
        return decision(Reason::MoveInProgress, summary, LoadBalanceInputs::default(), vec![]);
    }
    if !cooled(last_move, now, s.host_cool_time) {
        let summary = "the last load-balancing move is within the cool time".into();
        return decision(Reason::HostCooling, summary, LoadBalanceInputs::default(), vec![]);
    }
    // Each host's scores in the order given (their sum is taken in that order).
    let few = format!("fewer than {} samples in 24 h", s.min_samples);
    let mut by_host: HashMap<&str, Vec<&HostScore>> = HashMap::new();
    for score in scores {
        by_host.entry(score.host.as_str()).or_default().push(score);
    }
    let mut rejections = Rejections::default();
    let mut scored: Vec<(&BackendState, f64)> = Vec::new();
    for b in backends {
        if !b.online() || !b.reachable {
            rejections.push(&b.host, "not online or unreachable");
            continue;
        }
        let mine: &[&HostScore] = by_host.get(b.host.as_str()).map_or(&[], Vec::as_slice);
        let enough =
            SCORED_RESOURCES.iter().all(|r| mine.iter().any(|x| x.score == *r && x.samples_24h >= s.min_samples));
        if !enough {
            rejections.push(&b.host, &few);
            continue;
        }
        let sum: f64 = mine.iter().map(|x| x.average).sum();
        let adjusted = sum + 1.0 - f64::from(b.load_factor.clamp(0, 100)) / 100.0;
        scored.push((b, adjusted));
    }
    let rejected = rejections.into_vec();
    let mut inputs = LoadBalanceInputs {
        scores: scored.iter().map(|(b, score)| (b.host.clone(), *score)).collect(),
        threshold: Some(s.delta_threshold),
        delta: None,
    };
    let Some(&(worst, worst_score)) = scored.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return decision(Reason::NotEnoughData, "no backend has enough data".into(), inputs, rejected);
    };
    let receivers: Vec<&(&BackendState, f64)> =
        scored.iter().filter(|(b, _)| b.id != worst.id && b.load_factor > 0).collect();
    let Some(&&(best, best_score)) = receivers.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
        return decision(Reason::NoDestination, "no other backend can take a group".into(), inputs, rejected);
    };
    let delta = worst_score - best_score;
    inputs.delta = Some(delta);
    if delta <= s.delta_threshold {
        let summary = format!("balanced enough: {:.2} ≤ {:.2}", delta, s.delta_threshold);
        return decision(Reason::Balanced, summary, inputs, rejected);
    }
    let Some(group) = groups.by_backend().pick(worst.id, now, s.group_cool_time) else {
        let summary = format!("{} is busiest but has no movable group", worst.host);
        return decision(Reason::NoMovableGroup, summary, inputs, rejected);
    };
    Decision {
        feature: Feature::LoadBalance,
        reason: Reason::Unbalanced,
        action: Some(Action::MoveGroup { group: group.name.clone(), from: worst.id, to: best.id }),
        summary: format!(
            "move {} from {} (score {:.2}) to {} (score {:.2}): delta {:.2} > {:.2}",
            group.name, worst.host, worst_score, best.host, best_score, delta, s.delta_threshold
        ),
        inputs: DecisionInputs::LoadBalance(inputs),
        rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::{fixtures::backend, GroupState};

    #[test]
    fn each_backend_is_scored_from_its_own_rows_in_any_order() {
        let backends = [backend(1), backend(2), backend(3)];
        let groups: Vec<GroupState> = ["g1", "g2"]
            .into_iter()
            .map(|name| GroupState {
                name: name.into(),
                backend_id: Some(uuid::Uuid::from_u128(2)),
                alt_backend_id: None,
                moving: false,
                sticky_backend: false,
                last_moved: None,
                users: 10,
            })
            .collect();
        // One query per resource, as the metrics pipeline answers: the hosts interleave.
        let mut scores = Vec::new();
        for resource in SCORED_RESOURCES {
            for (host, average) in [("be3", -0.5), ("be2", 1.0), ("be1", 0.25)] {
                scores.push(HostScore { host: host.into(), score: resource.into(), average, samples_24h: 500 });
            }
        }
        let s = LoadBalanceSettings {
            min_samples: 100,
            delta_threshold: 0.5,
            group_cool_time: Duration::from_secs(3600),
            host_cool_time: Duration::from_secs(3600),
        };
        let d = plan(&backends, &SiteGroups::new(&groups), &scores, None, Utc::now(), &s);
        let DecisionInputs::LoadBalance(inputs) = &d.inputs else { panic!("{d:?}") };
        assert_eq!(inputs.scores.get("be1"), Some(&0.75));
        assert_eq!(inputs.scores.get("be2"), Some(&3.0));
        assert_eq!(inputs.scores.get("be3"), Some(&-1.5));
        assert!(
            matches!(&d.action, Some(Action::MoveGroup { from, to, .. }) if from.as_u128() == 2 && to.as_u128() == 3),
            "{}",
            d.summary
        );
    }
}
