//! The decision log: what became of each of the controller's decisions, as stored and as shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    closed_set::closed_set,
    feature::FeatureState,
    planning::{Action, Decision},
};

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
        /// Stored before its write, which is under way. A decision stays so when the controller
        /// stopped, or lost the store, before it learnt the write's outcome: it may or may not be
        /// in the GeoDB, and it is never shown as applied unless it is.
        Pending = "pending",
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
            Some(Action::BalanceGroups { backend, transfers, users }) => {
                format!("move {users} users between groups on {} in {transfers} transfers", host_of(*backend))
            }
            Some(Action::SetAltBackend { group, alt }) => format!("point {group}'s alternative at {}", host_of(*alt)),
            Some(Action::SetReachability { reachable, .. }) => {
                format!("mark a site {}", if *reachable { "reachable" } else { "unreachable" })
            }
            Some(Action::SetSiteStatus { online, .. }) => {
                format!("set the site {}", if *online { "online" } else { "offline" })
            }
        }
    }
}
