//! What the controller decided and which moves it supervises, as stored and as shown.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;
use uuid::Uuid;

use super::{
    feature::{Feature, FeatureState},
    planning::{Action, Decision},
};

/// Who started a group move. Stored as `controller:<feature>`, `operator:<name>` or `external`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Initiator {
    /// One of the controller's features decided it.
    Controller(Feature),
    /// An operator, from the admin UI.
    Operator(String),
    /// Someone else (doveadm, another tool): the controller found it moving and adopted it.
    External,
}

impl Initiator {
    /// The metric label: the feature's name, `operator` or `external`.
    pub fn label(&self) -> &'static str {
        match self {
            Initiator::Controller(feature) => feature.as_str(),
            Initiator::Operator(_) => "operator",
            Initiator::External => "external",
        }
    }
}

impl std::fmt::Display for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Initiator::Controller(feature) => write!(f, "controller:{feature}"),
            Initiator::Operator(name) => write!(f, "operator:{name}"),
            Initiator::External => f.write_str("external"),
        }
    }
}

impl From<String> for Initiator {
    /// Reads a stored value; anything this version cannot read counts as external.
    fn from(raw: String) -> Self {
        match raw.split_once(':') {
            Some(("controller", feature)) => feature.parse().map(Initiator::Controller).unwrap_or(Initiator::External),
            Some(("operator", name)) => Initiator::Operator(name.to_string()),
            _ => Initiator::External,
        }
    }
}

impl From<Initiator> for String {
    fn from(initiator: Initiator) -> Self {
        initiator.to_string()
    }
}

closed_set! {
    /// What became of a decision.
    pub enum Outcome("outcome", "outcome") {
        /// Written to the GeoDB.
        Applied = "applied",
        /// Dry: computed and recorded, nothing written.
        Dry = "dry",
        /// Nothing to do (a considered non-action).
        NoAction = "no_action",
        /// Not written: someone else changed the row first, or this instance no longer leads.
        Refused = "refused",
        /// The write failed.
        Failed = "failed",
    }
}

/// One stored decision: the planner's decision with when, where, how and by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: Uuid,
    pub site_id: Uuid,
    pub at: DateTime<Utc>,
    pub mode: FeatureState,
    pub outcome: Outcome,
    /// Why it was refused or failed; empty otherwise.
    pub detail: String,
    /// The controller instance and its fencing token.
    pub holder: String,
    pub token: u64,
    pub decision: Decision,
}

impl DecisionRecord {
    /// The UTC day that partitions the decision log.
    pub fn day(&self) -> chrono::NaiveDate {
        self.at.date_naive()
    }

    pub fn action_text(&self, host_of: &dyn Fn(Uuid) -> String) -> String {
        match &self.decision.action {
            None => "—".into(),
            Some(Action::SetOffline { backend }) => format!("set {} offline", host_of(*backend)),
            Some(Action::SetOnline { backend }) => format!("set {} online", host_of(*backend)),
            Some(Action::MoveGroup { group, from, to }) => {
                format!("move {group}: {} → {}", host_of(*from), host_of(*to))
            }
            Some(Action::MoveUsers { users, .. }) => format!("move {users} users between groups"),
        }
    }
}

closed_set! {
    /// Where a supervised move stands (docs/controller.md, "Move supervision").
    pub enum MoveState("move state", "state") {
        /// `moving` set; the source has not started moving users yet.
        Initiated = "initiated",
        /// Users are being moved.
        Started = "started",
        /// The source finished: the group is on its destination.
        Finished = "finished",
        /// The controller (or an operator) set the group's backend directly.
        Forced = "forced",
        /// Cancelled before it started.
        Cancelled = "cancelled",
        /// The GeoDB row changed under us (removed, moved elsewhere, move cleared by someone else).
        Aborted = "aborted",
    }
}

impl MoveState {
    pub fn is_active(self) -> bool {
        matches!(self, MoveState::Initiated | MoveState::Started)
    }
}

/// How an active move is ended before its source finishes it. Not a closed set of operator
/// input: an operator may only force or cancel (its `FromStr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndMove {
    /// The group's backend becomes the destination now (a forced move).
    Force,
    /// The group stays on its source; only before the source has started moving users.
    Cancel,
    /// Dovecot CE: the controller ends the move itself once no session of the group is left
    /// on the source (Pro's source backend does this). Not an operator's choice.
    Complete,
}

impl EndMove {
    pub fn as_str(self) -> &'static str {
        match self {
            EndMove::Force => "force",
            EndMove::Cancel => "cancel",
            EndMove::Complete => "complete",
        }
    }

    /// The state a move ended this way is left in.
    pub fn state(self) -> MoveState {
        match self {
            EndMove::Force => MoveState::Forced,
            EndMove::Cancel => MoveState::Cancelled,
            EndMove::Complete => MoveState::Finished,
        }
    }
}

impl std::str::FromStr for EndMove {
    type Err = super::AppError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim() {
            "force" => Ok(EndMove::Force),
            "cancel" => Ok(EndMove::Cancel),
            other => Err(super::AppError::invalid(
                "how",
                format!("unknown way to end a move {:?}: use force or cancel", super::logtext::Untrusted(other)),
            )),
        }
    }
}

/// A group move the controller supervises, whoever started it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveRecord {
    pub id: Uuid,
    pub site_id: Uuid,
    pub group: String,
    pub source: Option<Uuid>,
    pub source_host: String,
    pub destination: Uuid,
    pub destination_host: String,
    /// The group's `moving` value while this move runs: conditional writes compare it.
    pub moving_token: String,
    pub initiated_by: Initiator,
    /// The decision that started it, when the controller did.
    pub decision_id: Option<Uuid>,
    pub state: MoveState,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub users_total: u64,
    pub users_moved: u64,
    /// Users per second over the move so far.
    pub rate: f64,
    pub eta: Option<DateTime<Utc>>,
    /// When the supervisor last looked at it.
    #[serde(default)]
    pub observed_at: Option<DateTime<Utc>>,
    /// Why it ended as it did (forced, aborted, cancelled).
    pub note: String,
}

/// A backend at one end of a move: its id and host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveEnd {
    pub id: Uuid,
    pub host: String,
}

/// What a new move record is made from: the one way to make one.
#[derive(Debug, Clone)]
pub struct NewMove<'a> {
    pub site_id: Uuid,
    pub group: &'a str,
    /// The group's `moving` value set for this move.
    pub token: &'a str,
    pub source: Option<MoveEnd>,
    pub destination: MoveEnd,
    pub initiator: Initiator,
    pub decision_id: Option<Uuid>,
    pub users_total: u64,
    pub now: DateTime<Utc>,
}

impl MoveRecord {
    /// A move just set in the GeoDB, not started yet. Its id follows from the site, the group
    /// and the `moving` token, so whoever records a move first (the one who started it, or a
    /// pass adopting it meanwhile), it is recorded once.
    pub fn initiated(new: NewMove<'_>) -> Self {
        let (source, source_host) = match new.source {
            Some(end) => (Some(end.id), end.host),
            None => (None, String::new()),
        };
        let key = format!("{}/{}/{}", new.site_id, new.group, new.token);
        MoveRecord {
            id: Uuid::new_v5(&Uuid::NAMESPACE_OID, key.as_bytes()),
            site_id: new.site_id,
            group: new.group.to_string(),
            source,
            source_host,
            destination: new.destination.id,
            destination_host: new.destination.host,
            moving_token: new.token.to_string(),
            initiated_by: new.initiator,
            decision_id: new.decision_id,
            state: MoveState::Initiated,
            created_at: new.now,
            started_at: None,
            finished_at: None,
            users_total: new.users_total,
            users_moved: 0,
            rate: 0.0,
            eta: None,
            observed_at: None,
            note: String::new(),
        }
    }

    /// Percent done, 0–100.
    pub fn percent(&self) -> f64 {
        match self.state {
            MoveState::Finished | MoveState::Forced => 100.0,
            _ if self.users_total == 0 => 0.0,
            _ => (self.users_moved as f64 / self.users_total as f64 * 100.0).clamp(0.0, 100.0),
        }
    }
}

/// One step of a group-size balancing plan: reassign a user to another group on the same backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub user: String,
    pub from_group: String,
    pub to_group: String,
    pub backend_id: Uuid,
}

/// A stored group-size balancing plan's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub created_at: DateTime<Utc>,
    pub total: u64,
    pub remaining: u64,
}

closed_set! {
    /// A controller loop, by the name its runs are reported under.
    #[derive(PartialOrd, Ord)]
    pub enum LoopKind("loop", "loop") {
        Leader = "leader",
        Reachability = "reachability",
        Pass = "pass",
        Supervision = "supervision",
        GroupBalancePlan = "group_balance_plan",
        GroupBalancePass = "group_balance_pass",
    }
}

/// What a run on the Controller page is of: one of the loops, or one feature of a pass (the
/// pass plans several features on one snapshot, and each says how it went). Shown and sent as
/// the loop's or the feature's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunKey {
    Loop(LoopKind),
    Feature(Feature),
}

impl std::fmt::Display for RunKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunKey::Loop(kind) => kind.fmt(f),
            RunKey::Feature(feature) => feature.fmt(f),
        }
    }
}

closed_set! {
    /// Whether a loop did its work.
    pub enum LoopResult("loop result", "result") {
        Ran = "ran",
        /// Not its turn: this instance does not lead, or the feature is off.
        Skipped = "skipped",
        /// Missing data or a failed write: it decided nothing and tries again later.
        Failed = "failed",
    }
}

/// How a controller loop's last run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopRun {
    pub at: DateTime<Utc>,
    pub seconds: f64,
    pub result: LoopResult,
    /// What it did, or why it did nothing.
    pub detail: String,
}

/// One backend's doveadm API as the reachability probe last saw it (docs/controller.md, "Reachability").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReachabilityState {
    pub host: String,
    pub reachable: bool,
    pub since: DateTime<Utc>,
    pub last_error: String,
}

/// What one probe of a backend's doveadm API found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Answered,
    /// The host name did not resolve.
    NameNotResolved(String),
    /// Anything else: refused, timed out, an HTTP or doveadm error.
    Failed(String),
}

/// A backend's reachability as the probes saw it over time (docs/controller.md, "Reachability").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeState {
    pub reachable: bool,
    /// When `reachable` last changed (or the first probe).
    pub since: Option<DateTime<Utc>>,
    /// The start of the current run of name-resolution failures.
    pub first_dns_failure: Option<DateTime<Utc>>,
    pub last_error: String,
}

impl ProbeState {
    /// The state after one more probe. A name-resolution failure is tolerated for
    /// `dns_allowed` (the backend keeps its verdict); any other failure marks it unreachable
    /// at once; the first answer clears the mark.
    pub fn after(&self, outcome: ProbeOutcome, now: DateTime<Utc>, dns_allowed: std::time::Duration) -> ProbeState {
        let mut next = self.clone();
        match outcome {
            ProbeOutcome::Answered => {
                next.reachable = true;
                next.first_dns_failure = None;
                next.last_error.clear();
            }
            ProbeOutcome::NameNotResolved(error) => {
                let first = *next.first_dns_failure.get_or_insert(now);
                next.last_error = error;
                if now - first > chrono::Duration::from_std(dns_allowed).unwrap_or(chrono::Duration::MAX) {
                    next.reachable = false;
                }
            }
            ProbeOutcome::Failed(error) => {
                next.reachable = false;
                next.first_dns_failure = None;
                next.last_error = error;
            }
        }
        if next.reachable != self.reachable || self.since.is_none() {
            next.since = Some(now);
        }
        next
    }
}

/// The controller as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerStatus {
    pub site: String,
    pub site_id: Option<Uuid>,
    /// This instance.
    pub instance: String,
    /// Who leads the site now, with the fencing token; `None` when nobody does or Redis is down.
    pub leader: Option<(String, u64)>,
    pub this_instance_leads: bool,
    pub dry_run: bool,
    pub group_balance_enabled: bool,
    /// Effective mode per feature.
    pub modes: Vec<(Feature, FeatureState)>,
    pub loops: BTreeMap<RunKey, LoopRun>,
    pub reachability: Vec<ReachabilityState>,
    /// Why the controller is holding back right now, if it is.
    pub problems: Vec<String>,
    pub plan: Option<PlanSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn name_resolution_failures_are_tolerated_for_the_allowed_time_only() {
        let t0 = Utc::now();
        let allowed = Duration::from_secs(10);
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let up = ProbeState::default().after(ProbeOutcome::Answered, at(0), allowed);
        assert!(up.reachable);
        let dns = |s: &ProbeState, t: i64| s.after(ProbeOutcome::NameNotResolved("dns error".into()), at(t), allowed);
        let blip = dns(&up, 1);
        assert!(blip.reachable, "a DNS failure is tolerated at first");
        let still = dns(&dns(&blip, 6), 11);
        assert!(still.reachable, "10 s allowed: still reachable at 10 s of failures");
        let gone = dns(&still, 12);
        assert!(!gone.reachable && gone.since == Some(at(12)), "unreachable after the allowed time");
        let back = gone.after(ProbeOutcome::Answered, at(13), allowed);
        assert!(back.reachable && back.first_dns_failure.is_none(), "the first answer clears the mark");
        let refused = back.after(ProbeOutcome::Failed("connection refused".into()), at(14), allowed);
        assert!(!refused.reachable, "any other failure marks it at once");
        let never_seen = dns(&ProbeState::default(), 0);
        assert!(!never_seen.reachable, "a backend never seen answering is not a destination");
    }
}
