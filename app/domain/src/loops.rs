//! The controller's loops and how their last runs went, and the controller's status as the UI
//! shows it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    closed_set::closed_set,
    feature::{Feature, FeatureState},
    moves::PlanSummary,
    probe::ReachabilityState,
};

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
