//! How far a replay agrees with the record (docs/replay.md, "Fidelity"): each decision that
//! acts (a move, a forced move, a backend set offline or online) is paired with the recorded
//! decision of the same feature and action nearest in time, within one pass and one
//! supervision interval; what stays unpaired on either side is a disagreement, with a reason.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PassMetrics;
use crate::{
    decisions::{DecisionRecord, Outcome},
    feature::Feature,
    planning::{Action, DecisionInputs},
};

crate::closed_set::closed_set! {
    /// Which side of the comparison a decision stands on alone.
    pub enum Side("side", "side") {
        /// Recorded, and the replay did not decide it.
        Recorded = "recorded",
        /// Replayed, and the record does not have it.
        Replayed = "replayed",
    }
}

/// A decision only one side made, and why as far as the replay can tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub at: DateTime<Utc>,
    pub side: Side,
    pub feature: Feature,
    pub summary: String,
    pub reason: String,
}

/// The agreement of a replay with the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub matched: u64,
    pub disagreements: Vec<Disagreement>,
}

impl Agreement {
    /// Paired decisions over all acting decisions of both sides, in percent (100 when neither
    /// side acted).
    pub fn percent(&self) -> f64 {
        let total = self.matched + self.disagreements.len() as u64;
        if total == 0 {
            100.0
        } else {
            self.matched as f64 * 100.0 / total as f64
        }
    }
}

/// True for the actions a replay compares: moves and backend statuses.
pub fn compared(action: Option<&Action>) -> bool {
    matches!(action, Some(Action::MoveGroup { .. } | Action::SetOffline { .. } | Action::SetOnline { .. }))
}

/// The recorded acting decisions of a window, paired as the replay decides.
#[derive(Debug, Clone)]
pub struct Matcher {
    recorded: Vec<DecisionRecord>,
    taken: Vec<bool>,
    tolerance: chrono::Duration,
    matched: u64,
    replayed_only: Vec<Disagreement>,
}

impl Matcher {
    /// `decisions` may hold more than the window's acting decisions; the others are left out.
    pub fn new(decisions: &[DecisionRecord], from: DateTime<Utc>, to: DateTime<Utc>, tolerance: Duration) -> Self {
        let mut recorded: Vec<DecisionRecord> = decisions
            .iter()
            .filter(|d| d.at >= from && d.at <= to && d.outcome != Outcome::NoAction)
            .filter(|d| compared(d.decision.action.as_ref()))
            .cloned()
            .collect();
        recorded.sort_by_key(|d| (d.at, d.id));
        let taken = vec![false; recorded.len()];
        let tolerance = chrono::Duration::from_std(tolerance).unwrap_or(chrono::Duration::MAX);
        Self { recorded, taken, tolerance, matched: 0, replayed_only: Vec::new() }
    }

    /// Pairs a replayed decision with the nearest unpaired recorded one of the same feature
    /// and action; returns it, or notes the replayed decision as unpaired.
    pub fn pair(
        &mut self,
        at: DateTime<Utc>,
        feature: Feature,
        action: &Action,
        summary: &str,
        why_unpaired: impl FnOnce() -> String,
    ) -> Option<&DecisionRecord> {
        let nearest = self
            .recorded
            .iter()
            .enumerate()
            .filter(|(i, d)| {
                !self.taken[*i] && d.decision.feature == feature && d.decision.action.as_ref() == Some(action)
            })
            .filter(|(_, d)| (d.at - at).abs() <= self.tolerance)
            .min_by_key(|(_, d)| ((d.at - at).abs(), d.at))
            .map(|(i, _)| i);
        match nearest {
            Some(i) => {
                self.taken[i] = true;
                self.matched += 1;
                self.recorded.get(i)
            }
            None => {
                self.replayed_only.push(Disagreement {
                    at,
                    side: Side::Replayed,
                    feature,
                    summary: summary.to_string(),
                    reason: why_unpaired(),
                });
                None
            }
        }
    }

    /// The agreement, with each recorded decision left unpaired explained by `why`.
    pub fn finish(self, why: impl Fn(&DecisionRecord) -> String) -> Agreement {
        let mut disagreements = self.replayed_only;
        for (d, taken) in self.recorded.iter().zip(&self.taken) {
            if !taken {
                disagreements.push(Disagreement {
                    at: d.at,
                    side: Side::Recorded,
                    feature: d.decision.feature,
                    summary: d.decision.summary.clone(),
                    reason: why(d),
                });
            }
        }
        disagreements.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.summary.cmp(&b.summary)));
        Agreement { matched: self.matched, disagreements }
    }
}

/// The pass of the history nearest `at`.
pub fn nearest_pass(passes: &[PassMetrics], at: DateTime<Utc>) -> Option<&PassMetrics> {
    passes.iter().min_by_key(|p| (p.at - at).abs())
}

/// Why the replay did not make a recorded decision, as far as the history tells: a sample the
/// history lacks; in a fidelity check, a failing backend's ratio that the history has on the
/// other side of the live threshold; else the settings `changed` (a what-if), else an earlier
/// difference.
pub fn why_not_replayed(
    d: &DecisionRecord,
    passes: &[PassMetrics],
    changed: &[String],
    host_of: &dyn Fn(Uuid) -> String,
) -> String {
    let pass = nearest_pass(passes, d.at);
    let otherwise = || {
        if changed.is_empty() {
            "the replay's state differed there: an earlier difference changed what the planner saw".to_string()
        } else {
            format!("the replay's settings differ: {}", changed.join(", "))
        }
    };
    match d.decision.feature {
        Feature::HostFailure if pass.is_none_or(|p| p.traffic.is_none()) => {
            format!("the history has no traffic sample near {}; the live pass had one", d.at.format("%H:%M:%S"))
        }
        Feature::LoadBalance if pass.is_none_or(|p| p.scores.is_none()) => {
            format!("the history has no load scores near {}; the live pass had them", d.at.format("%H:%M:%S"))
        }
        // In a what-if the settings explain what a sample does not; a backend set back online
        // was judged on its probe and its quiet, not on its ratio.
        Feature::HostFailure if changed.is_empty() && !matches!(d.decision.action, Some(Action::SetOnline { .. })) => {
            let DecisionInputs::HostFailure(live) = &d.decision.inputs else { return otherwise() };
            let host = host_of(live.backend);
            let seen = pass
                .and_then(|p| p.traffic.as_ref())
                .and_then(|t| t.get(&host))
                .and_then(|t| t.worst_ratio(f64::from(live.min_logins)))
                .unwrap_or(0.0);
            if (seen > live.threshold) != (live.failure_ratio > live.threshold) {
                format!(
                    "the live pass saw a failure ratio of {:.3} on {host}, the history {seen:.3} at the nearest pass",
                    live.failure_ratio
                )
            } else {
                otherwise()
            }
        }
        Feature::GroupMoveTimeouts if changed.is_empty() => {
            "the replay models a move's pace as even; the recorded move's pace varied, so its timeout fell elsewhere"
                .into()
        }
        _ => otherwise(),
    }
}
