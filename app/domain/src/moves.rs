//! Group moves as the controller supervises them, and the user moves a group-size balancing
//! plan holds: as stored and as shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{closed_set::closed_set, feature::Feature};

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
