//! What a decision rests on, typed per planner: the reason (one closed set for every planner),
//! the subject it is about and the numbers. The decision log shows the numbers as a table built
//! from these structs, and the executor tells a repeated decision from a new one by the
//! feature, the subject, the reason and the action: never by the wording of the summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::{Action, Decision};
use crate::{closed_set::closed_set, feature::Feature};

closed_set! {
    /// Why a planner decided what it did. The summary says it in words; this is the part a
    /// program compares.
    pub enum Reason("reason", "reason") {
        /// host_failure: a backend the controller set offline is healthy again.
        Recovered = "recovered",
        /// host_failure: a backend the controller set offline answers and was quiet long enough to try again.
        RetriedAfterQuiet = "retried_after_quiet",
        /// host_failure: failing, but the last online backend.
        LastOnlineBackend = "last_online_backend",
        /// host_failure: failing, and its doveadm API does not answer either.
        FailingAndUnreachable = "failing_and_unreachable",
        /// host_failure: failing while its doveadm API answers: one group moves away.
        FailingAndReachable = "failing_and_reachable",
        /// host_failure: failing, but it gave a group away less than the cool time ago.
        SourceCooling = "source_cooling",
        /// No backend can take a group.
        NoDestination = "no_destination",
        /// The backend has no group that may move.
        NoMovableGroup = "no_movable_group",
        /// host_failure: no backend is failing.
        NoneFailing = "none_failing",
        /// host_failure: no backend had enough logins to be judged.
        NoneJudged = "none_judged",
        /// load_balance: a group move is running.
        MoveInProgress = "move_in_progress",
        /// load_balance: the last move is within the host cool time.
        HostCooling = "host_cooling",
        /// load_balance: no backend has enough samples.
        NotEnoughData = "not_enough_data",
        /// load_balance: the scores are within the threshold.
        Balanced = "balanced",
        /// load_balance: the scores are apart by more than the threshold.
        Unbalanced = "unbalanced",
        /// load_balance: another move started in the same pass.
        HeldBack = "held_back",
        /// evacuation: the draining backend has a group moving away now.
        GroupMovingAway = "group_moving_away",
        /// evacuation: the backend drains one group at a time.
        Draining = "draining",
        /// evacuation: a group's alternative backend is missing, its own, or cannot take users.
        AltBackendUnusable = "alt_backend_unusable",
        /// group_move_timeouts: not started within the start timeout.
        StartTimeout = "start_timeout",
        /// group_move_timeouts: running longer than the finish timeout.
        FinishTimeout = "finish_timeout",
        /// group_move_timeouts: at its rate it would end after the finish timeout.
        FinishForeseenLate = "finish_foreseen_late",
        /// group_balance: two groups on a backend are apart by more than the slack.
        GroupsUneven = "groups_uneven",
        /// group_balance: a pass over the planned user moves.
        PlannedUsersMoved = "planned_users_moved",
        /// site_health: the sessions to another site's load balancer fail above the threshold.
        SiteUnreachable = "site_unreachable",
        /// site_health: they fail below half the threshold again.
        SiteReachable = "site_reachable",
        /// site_health: a site marked unreachable gets no sessions; after the cool time it is tried again.
        SiteRetried = "site_retried",
        /// site_health: none of its own site's backends can take users.
        NoBackendTakesUsers = "no_backend_takes_users",
        /// site_health: a backend of its own site takes users again.
        SiteRecovered = "site_recovered",
        /// site_health: a change waits for the cool time.
        SiteCooling = "site_cooling",
        /// The feature could not plan (its data is missing).
        PlanningFailed = "planning_failed",
        /// A decision recorded before reasons were: its summary says why.
        Unrecorded = "unrecorded",
    }
}

impl Reason {
    /// What a decision recorded before reasons were is read with.
    pub(super) fn unrecorded() -> Self {
        Self::Unrecorded
    }
}

/// The numbers behind one decision, per planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionInputs {
    HostFailure(HostFailureInputs),
    HostFailureOverview(HostFailureOverview),
    LoadBalance(LoadBalanceInputs),
    Evacuation(EvacuationInputs),
    GroupMoveTimeouts(MoveTimeoutInputs),
    /// One transfer, as decisions recorded before a backend's share of the plan was one.
    GroupBalanceTransfer(TransferInputs),
    GroupBalanceBackend(BalanceInputs),
    GroupBalancePass(GroupBalancePassInputs),
    SiteReachability(ReachabilityInputs),
    OwnSite(OwnSiteInputs),
    AltRepair(AltRepairInputs),
    /// The feature could not plan: nothing to show.
    None,
    /// A decision recorded before inputs were typed: its numbers by name, as stored.
    Earlier(BTreeMap<String, f64>),
}

/// host_failure, about one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFailureInputs {
    pub backend: Uuid,
    pub logins_5m: f64,
    pub failure_ratio: f64,
    pub threshold: f64,
    pub min_logins: u32,
    pub doveadm_reachable: bool,
    /// The users of the group chosen to move away.
    pub group_users: Option<u64>,
}

/// host_failure, when no backend needed anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFailureOverview {
    pub backends_judged: u64,
    pub backends_online: u64,
    pub logins_5m: f64,
    pub worst_failure_ratio: f64,
    pub threshold: f64,
    pub min_logins: u32,
}

/// load_balance: each scored backend's adjusted Z-score sum, by host.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LoadBalanceInputs {
    pub scores: BTreeMap<String, f64>,
    pub threshold: Option<f64>,
    /// The busiest score minus the least busy receiver's.
    pub delta: Option<f64>,
}

/// evacuation, about one draining backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvacuationInputs {
    pub backend: Uuid,
    pub groups_left: u64,
    pub load_factor: i32,
    /// The users of the group chosen to move.
    pub group_users: Option<u64>,
}

/// group_move_timeouts, about one move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveTimeoutInputs {
    pub move_id: Uuid,
    pub start_timeout_secs: f64,
    pub finish_timeout_secs: f64,
    pub users_moved: u64,
    pub users_total: u64,
    /// Not started yet: how long it has waited.
    pub waited_secs: Option<f64>,
    /// Started: how long it has run, and at what rate.
    pub running_secs: Option<f64>,
    pub rate_users_per_sec: Option<f64>,
    /// When, counted from its start, it would end at that rate.
    pub eta_secs_from_start: Option<f64>,
}

/// site_health, about the reachability of one other site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReachabilityInputs {
    pub site: Uuid,
    pub load_balancer: String,
    pub sessions_5m: f64,
    pub failure_ratio: Option<f64>,
    pub threshold: f64,
    pub min_logins: u32,
    /// The row as read: `None` when there is none.
    pub reachable_before: Option<bool>,
}

/// site_health, about its own site's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnSiteInputs {
    pub site: Uuid,
    pub backends: u64,
    pub backends_taking_users: u64,
}

/// evacuation, a group's alternative backend pointed at one that can take its users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AltRepairInputs {
    pub group: String,
    pub backend: String,
    /// The alternative as read: its host, or `None` when there was none (or it is gone).
    pub alt_before: Option<String>,
    /// The alternative as read, by id: what the write is conditional on.
    pub alt_before_id: Option<Uuid>,
    pub alt: String,
}

/// group_balance, one planned transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferInputs {
    pub from_size: u64,
    pub to_size: u64,
    pub mean: f64,
    pub slack_percent: u32,
    /// `GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS`.
    pub cap: u32,
}

/// group_balance, one backend's share of the daily plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceInputs {
    pub backend: Uuid,
    pub transfers: u64,
    pub users: u64,
    /// The mean group size on the backend.
    pub mean: f64,
    pub slack_percent: u32,
    /// `GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS`.
    pub cap: u32,
    /// The first transfers in plan order (the largest groups first), at most
    /// [`TRANSFERS_NAMED`](super::group_balance::TRANSFERS_NAMED).
    pub named: Vec<NamedTransfer>,
}

/// One transfer of a backend's plan, as its decision names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedTransfer {
    pub from_group: String,
    pub from_size: u64,
    pub to_group: String,
    pub to_size: u64,
    pub users: u64,
}

/// group_balance, one pass over the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupBalancePassInputs {
    /// Planned user moves taken per pass.
    pub cap: u64,
    pub moved: u64,
}

/// One line of the inputs table: a name and its value as shown.
pub type InputRow = (String, String);

fn number(value: f64) -> String {
    ((value * 1000.0).round() / 1000.0).to_string()
}

fn rows<const N: usize>(fixed: [(&str, String); N], optional: &[(&str, Option<String>)]) -> Vec<InputRow> {
    fixed
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .chain(optional.iter().filter_map(|(name, value)| Some((name.to_string(), value.clone()?))))
        .collect()
}

/// What a decision is about, for the decision log's repeats.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Backend(Uuid),
    Move(Uuid),
    Site(Uuid),
    Group(String),
}

impl DecisionInputs {
    /// What the decision is about; `None` for a decision about the whole site.
    pub fn subject(&self) -> Option<Subject> {
        match self {
            Self::HostFailure(i) => Some(Subject::Backend(i.backend)),
            Self::Evacuation(i) => Some(Subject::Backend(i.backend)),
            Self::GroupMoveTimeouts(i) => Some(Subject::Move(i.move_id)),
            Self::SiteReachability(i) => Some(Subject::Site(i.site)),
            Self::OwnSite(i) => Some(Subject::Site(i.site)),
            Self::AltRepair(i) => Some(Subject::Group(i.group.clone())),
            Self::GroupBalanceBackend(i) => Some(Subject::Backend(i.backend)),
            Self::HostFailureOverview(_)
            | Self::LoadBalance(_)
            | Self::GroupBalanceTransfer(_)
            | Self::GroupBalancePass(_)
            | Self::None
            | Self::Earlier(_) => None,
        }
    }

    /// The table the decision log shows, in a fixed order; values rounded to three decimals.
    pub fn rows(&self) -> Vec<InputRow> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        match self {
            Self::HostFailure(i) => rows(
                [
                    ("logins_5m", number(i.logins_5m)),
                    ("failure_ratio", number(i.failure_ratio)),
                    ("threshold", number(i.threshold)),
                    ("min_logins", i.min_logins.to_string()),
                    ("doveadm_reachable", yes_no(i.doveadm_reachable)),
                ],
                &[("group_users", i.group_users.map(|u| u.to_string()))],
            ),
            Self::HostFailureOverview(i) => rows(
                [
                    ("backends_judged", i.backends_judged.to_string()),
                    ("backends_online", i.backends_online.to_string()),
                    ("logins_5m", number(i.logins_5m)),
                    ("worst_failure_ratio", number(i.worst_failure_ratio)),
                    ("threshold", number(i.threshold)),
                    ("min_logins", i.min_logins.to_string()),
                ],
                &[],
            ),
            Self::LoadBalance(i) => i
                .scores
                .iter()
                .map(|(host, score)| (format!("score:{host}"), number(*score)))
                .chain(rows([], &[("threshold", i.threshold.map(number)), ("delta", i.delta.map(number))]))
                .collect(),
            Self::Evacuation(i) => rows(
                [("groups_left", i.groups_left.to_string()), ("load_factor", i.load_factor.to_string())],
                &[("group_users", i.group_users.map(|u| u.to_string()))],
            ),
            Self::GroupMoveTimeouts(i) => rows(
                [
                    ("start_timeout_secs", number(i.start_timeout_secs)),
                    ("finish_timeout_secs", number(i.finish_timeout_secs)),
                    ("users_moved", i.users_moved.to_string()),
                    ("users_total", i.users_total.to_string()),
                ],
                &[
                    ("waited_secs", i.waited_secs.map(number)),
                    ("running_secs", i.running_secs.map(number)),
                    ("rate_users_per_sec", i.rate_users_per_sec.map(number)),
                    ("eta_secs_from_start", i.eta_secs_from_start.map(number)),
                ],
            ),
            Self::GroupBalanceTransfer(i) => rows(
                [
                    ("from_size", i.from_size.to_string()),
                    ("to_size", i.to_size.to_string()),
                    ("mean", number(i.mean)),
                    ("slack_percent", i.slack_percent.to_string()),
                    ("cap", i.cap.to_string()),
                ],
                &[],
            ),
            Self::GroupBalanceBackend(i) => {
                let mut table = rows(
                    [
                        ("transfers", i.transfers.to_string()),
                        ("users", i.users.to_string()),
                        ("mean", number(i.mean)),
                        ("slack_percent", i.slack_percent.to_string()),
                        ("cap", i.cap.to_string()),
                    ],
                    &[],
                );
                table.extend(i.named.iter().map(|t| {
                    (
                        format!("{} → {}", t.from_group, t.to_group),
                        format!("{} and {}: move {}", t.from_size, t.to_size, t.users),
                    )
                }));
                table
            }
            Self::GroupBalancePass(i) => rows([("cap", i.cap.to_string()), ("moved", i.moved.to_string())], &[]),
            Self::SiteReachability(i) => rows(
                [
                    ("load_balancer", i.load_balancer.clone()),
                    ("sessions_5m", number(i.sessions_5m)),
                    ("threshold", number(i.threshold)),
                    ("min_logins", i.min_logins.to_string()),
                ],
                &[("failure_ratio", i.failure_ratio.map(number)), ("reachable_before", i.reachable_before.map(yes_no))],
            ),
            Self::AltRepair(i) => rows(
                [("group", i.group.clone()), ("backend", i.backend.clone()), ("alt", i.alt.clone())],
                &[("alt_before", i.alt_before.clone())],
            ),
            Self::OwnSite(i) => rows(
                [("backends", i.backends.to_string()), ("backends_taking_users", i.backends_taking_users.to_string())],
                &[],
            ),
            Self::None => Vec::new(),
            Self::Earlier(map) => map.iter().map(|(name, value)| (name.clone(), number(*value))).collect(),
        }
    }
}

/// Reads the inputs of a decision recorded before they were typed (a map of numbers by name)
/// as well as typed ones, so an upgrade keeps the decision log readable.
pub(super) fn typed_or_earlier<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DecisionInputs, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(DecisionInputs),
        Earlier(BTreeMap<String, f64>),
    }
    Ok(match Stored::deserialize(deserializer)? {
        Stored::Typed(inputs) => inputs,
        Stored::Earlier(map) => DecisionInputs::Earlier(map),
    })
}

/// What makes two decisions the same for the decision log: a dry or idle decision that
/// repeats the last one recorded for its slot (feature and subject) is not recorded again.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatKey {
    pub reason: Reason,
    pub action: Option<Action>,
}

/// The decision log's slot: one feature's decisions about one subject (or the whole site).
pub type RepeatSlot = (Feature, Option<Subject>);

impl Decision {
    pub fn repeat_slot(&self) -> RepeatSlot {
        (self.feature, self.inputs.subject())
    }

    pub fn repeat_key(&self) -> RepeatKey {
        RepeatKey { reason: self.reason, action: self.action.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_from_before_typed_inputs_still_reads() {
        let stored = r#"{"feature":"load_balance","action":null,"summary":"balanced enough: 0.2 ≤ 0.5",
            "inputs":{"delta":0.2,"threshold":0.5},"rejected":[]}"#;
        let decision: Decision = serde_json::from_str(stored).expect("an earlier record reads");
        assert_eq!(decision.reason, Reason::Unrecorded);
        assert_eq!(
            decision.inputs.rows(),
            [("delta".to_string(), "0.2".to_string()), ("threshold".into(), "0.5".into())]
        );
    }

    #[test]
    fn typed_inputs_round_trip() {
        let decision = Decision {
            feature: Feature::Evacuation,
            reason: Reason::Draining,
            action: None,
            summary: "draining be1".into(),
            inputs: DecisionInputs::Evacuation(EvacuationInputs {
                backend: Uuid::from_u128(1),
                groups_left: 3,
                load_factor: 0,
                group_users: Some(10),
            }),
            rejected: vec![],
        };
        let text = serde_json::to_string(&decision).expect("serializes");
        let back: Decision = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, decision);
        assert_eq!(back.repeat_slot(), (Feature::Evacuation, Some(Subject::Backend(Uuid::from_u128(1)))));
    }

    #[test]
    fn every_reason_has_a_word_that_parses_back() {
        for reason in Reason::ALL {
            assert_eq!(reason.as_str().parse::<Reason>().ok(), Some(reason));
        }
    }
}
