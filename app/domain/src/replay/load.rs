//! How a replay's placement shifts load (docs/replay.md, "Load"): a group carries its share
//! of its recorded backend's load, in proportion to users. A host's summed Z-score is taken as
//! additive: a group of `u` users on a backend the record shows with `U` users carries `u / U`
//! of that backend's score in each resource wherever the replay puts it.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::{metrics::HostScore, planning::GroupState};

/// One group that stands on another backend in the replay than in the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Displaced {
    pub users: u64,
    pub recorded: Uuid,
    pub replayed: Uuid,
}

/// The groups whose backend differs between the record's placement (`recorded`, one backend
/// per group, aligned with `groups`) and the replay's.
pub fn displaced(groups: &[GroupState], recorded: &[Option<Uuid>]) -> Vec<Displaced> {
    groups
        .iter()
        .zip(recorded)
        .filter_map(|(g, rec)| match (*rec, g.backend_id) {
            (Some(recorded), Some(replayed)) if recorded != replayed => {
                Some(Displaced { users: g.users, recorded, replayed })
            }
            _ => None,
        })
        .collect()
}

/// Users per backend in the record's placement.
pub fn users_by_backend(groups: &[GroupState], recorded: &[Option<Uuid>]) -> HashMap<Uuid, u64> {
    let mut users = HashMap::new();
    for (g, rec) in groups.iter().zip(recorded) {
        if let Some(b) = rec {
            *users.entry(*b).or_insert(0) += g.users;
        }
    }
    users
}

/// The recorded scores as the replay's placement would have had them. Only scores the record
/// has are changed: a host without a score in a resource gets none.
pub fn shifted_scores(
    scores: &[HostScore],
    moved: &[Displaced],
    recorded_users: &HashMap<Uuid, u64>,
    host_of: &dyn Fn(Uuid) -> Option<String>,
) -> Vec<HostScore> {
    if moved.is_empty() {
        return scores.to_vec();
    }
    let recorded: HashMap<(&str, &str), f64> =
        scores.iter().map(|s| ((s.host.as_str(), s.score.as_str()), s.average)).collect();
    let resources: Vec<&str> = {
        let mut r: Vec<&str> = scores.iter().map(|s| s.score.as_str()).collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let mut delta: BTreeMap<(String, String), f64> = BTreeMap::new();
    for d in moved {
        let (Some(from), Some(to)) = (host_of(d.recorded), host_of(d.replayed)) else { continue };
        let total = recorded_users.get(&d.recorded).copied().unwrap_or(0);
        if total == 0 || d.users == 0 {
            continue;
        }
        let fraction = d.users as f64 / total as f64;
        for r in &resources {
            let Some(average) = recorded.get(&(from.as_str(), *r)) else { continue };
            let share = average * fraction;
            *delta.entry((from.clone(), r.to_string())).or_insert(0.0) -= share;
            *delta.entry((to.clone(), r.to_string())).or_insert(0.0) += share;
        }
    }
    scores
        .iter()
        .map(|s| {
            let shift = delta.get(&(s.host.clone(), s.score.clone())).copied().unwrap_or(0.0);
            HostScore { average: s.average + shift, ..s.clone() }
        })
        .collect()
}

/// The spread of summed Z-scores among `hosts`: the busiest's sum less the idlest's (0 with
/// fewer than two hosts scored).
pub fn spread(scores: &[HostScore], hosts: &dyn Fn(&str) -> bool) -> f64 {
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    for s in scores.iter().filter(|s| hosts(&s.host)) {
        *sums.entry(s.host.as_str()).or_insert(0.0) += s.average;
    }
    if sums.len() < 2 {
        return 0.0;
    }
    let max = sums.values().copied().fold(f64::MIN, f64::max);
    let min = sums.values().copied().fold(f64::MAX, f64::min);
    max - min
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(host: &str, resource: &str, average: f64) -> HostScore {
        HostScore { host: host.into(), score: resource.into(), average, samples_24h: 100 }
    }

    #[test]
    fn a_group_carries_its_share_of_its_recorded_backends_score() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let scores = [score("a", "cpu", 2.0), score("b", "cpu", -1.0), score("a", "memused", 1.0)];
        let users = HashMap::from([(a, 100), (b, 100)]);
        let host = |id: Uuid| Some(if id == a { "a".to_string() } else { "b".to_string() });
        // A quarter of a's users stand on b in the replay.
        let moved = [Displaced { users: 25, recorded: a, replayed: b }];
        let shifted = shifted_scores(&scores, &moved, &users, &host);
        assert_eq!(shifted[0].average, 1.5);
        assert_eq!(shifted[1].average, -0.5);
        assert_eq!(shifted[2].average, 0.75);
        // The total load is kept.
        let total = |s: &[HostScore]| s.iter().map(|s| s.average).sum::<f64>();
        assert!((total(&shifted) - total(&scores) + 0.25).abs() < 1e-9, "b has no memused score to take");
        assert_eq!(spread(&scores, &|_| true), 4.0);
        assert_eq!(spread(&shifted, &|_| true), 2.75);
        assert_eq!(shifted_scores(&scores, &[], &users, &host), scores.to_vec());
    }
}
