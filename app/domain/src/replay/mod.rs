//! What if: a site's history replayed through the controller's planners with other settings,
//! beside what really happened (docs/replay.md). Pure and deterministic: the same start, history
//! and settings give the same result. The planners run pass by pass over the metric history, on
//! the replay's own copy of the site; moves run at their recorded pace and are supervised with
//! their timeouts; a group carries its share of load where the replay puts it.

mod engine;
pub mod fidelity;
mod load;
pub mod pace;
mod page;
mod recorded;
mod run;
mod start;
#[cfg(test)]
mod tests;
mod world;

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use engine::Replay;
pub use fidelity::{Agreement, Disagreement, Side};
pub use page::{ReplayChart, ReplayPage, ReplayShown};
pub use run::{ReplayRun, ReplayStatus, SettingOverride, MAX_OVERRIDES, RUN_KEPT, RUN_SILENT_AFTER};
pub use start::{reconstruct, StartNotes, StartState};
pub use world::{Flight, MoveProfile};

use crate::{
    decisions::{DecisionRecord, Outcome},
    feature::{Feature, FeatureState},
    metrics::{HostScore, HostTraffic},
    moves::MoveRecord,
    planning::{
        group_move_timeouts::SupervisionSettings, host_failure::HostFailureSettings, load_balance::LoadBalanceSettings,
        Action, Decision,
    },
};

/// The most passes one replay steps through (and one history query answers): 24 hours of
/// 10-second passes, and below Prometheus' 11,000 points per series.
pub const MAX_PASSES: usize = 8_640;

/// The settings a replay plans with: those in force, or an operator's what-if.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySettings {
    /// Each feature's effective mode (`DRY_RUN` applied); absent is off.
    pub modes: BTreeMap<Feature, FeatureState>,
    pub host_failure: HostFailureSettings,
    pub load_balance: LoadBalanceSettings,
    pub supervision: SupervisionSettings,
    pub pass_interval: Duration,
    pub supervision_interval: Duration,
    /// The settings that differ from those in force, by name (empty for a fidelity replay):
    /// they explain the replay's own decisions.
    pub changed: Vec<String>,
}

impl ReplaySettings {
    pub fn mode(&self, feature: Feature) -> FeatureState {
        self.modes.get(&feature).copied().unwrap_or(FeatureState::Off)
    }

    /// How far apart a replayed and a recorded decision may be and still be one.
    pub fn tolerance(&self) -> Duration {
        self.pass_interval + self.supervision_interval
    }
}

/// What a live pass at `at` would have read from the metrics; `None` where the history has no
/// sample.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PassMetrics {
    pub at: DateTime<Utc>,
    pub traffic: Option<BTreeMap<String, HostTraffic>>,
    pub scores: Option<Vec<HostScore>>,
}

/// What happened in the window: the metrics at each pass, oldest first, one pass interval
/// apart; the decisions and the moves recorded; what is known of the backends' doveadm API
/// reachability besides what the recorded decisions say.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub passes: Vec<PassMetrics>,
    pub decisions: Vec<DecisionRecord>,
    pub moves: Vec<MoveRecord>,
    pub reachability: Vec<ReachabilityMark>,
}

/// A backend's doveadm API answered, or did not, from `at` on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReachabilityMark {
    pub at: DateTime<Utc>,
    pub backend: Uuid,
    pub reachable: bool,
}

impl History {
    pub fn first_pass(&self) -> Option<DateTime<Utc>> {
        self.passes.first().map(|p| p.at)
    }

    pub fn last_pass(&self) -> Option<DateTime<Utc>> {
        self.passes.last().map(|p| p.at)
    }
}

/// A replay's window: its first and last pass, and how many passes it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub passes: usize,
}

/// One decision the replay made (moves, forced moves, backends set offline or online).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayedDecision {
    pub at: DateTime<Utc>,
    pub decision: Decision,
    pub outcome: Outcome,
    /// The recorded decision it pairs with.
    pub recorded: Option<Uuid>,
}

/// One acting decision of the record in the window, for the recorded timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub feature: Feature,
    pub action: Option<Action>,
    pub summary: String,
    pub outcome: Outcome,
}

/// A value under the record and under the replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Both<T> {
    pub recorded: T,
    pub replayed: T,
}

/// The state of both sites at one pass, for the charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub at: DateTime<Utc>,
    /// The busiest online backend's summed Z-score less the idlest's.
    pub spread: Both<f64>,
    /// The worst failure ratio among online backends.
    pub worst_ratio: Both<f64>,
    pub offline: Both<u64>,
}

/// A window's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Group moves started (by the controller or anyone else).
    pub moves: u64,
    /// Moves forced at a timeout.
    pub forced: u64,
    /// Users of the groups whose moves ended at their destination.
    pub users_moved: u64,
    /// Backends set offline.
    pub set_offline: u64,
    /// Backend-seconds offline, sampled at each pass.
    pub offline_secs: u64,
    /// The largest spread of summed Z-scores at any pass.
    pub peak_spread: f64,
}

/// A replay's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayResult {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub passes: u64,
    /// The record's acting decisions (moves, forced moves, backends set offline or online):
    /// those the agreement compares.
    pub recorded: Vec<RecordedEvent>,
    /// The replay's acting decisions, each with the recorded one it pairs with.
    pub decisions: Vec<ReplayedDecision>,
    pub series: Vec<SeriesPoint>,
    pub summary: Both<Summary>,
    pub agreement: Agreement,
    pub start: StartNotes,
    /// Moves the record says others started that could not start in the replay.
    pub skipped_moves: Vec<String>,
}

/// Replays a history whose passes are all at hand.
pub fn replay(
    site_id: Uuid,
    start: StartState,
    notes: StartNotes,
    history: History,
    settings: ReplaySettings,
) -> ReplayResult {
    let from = history.first_pass().unwrap_or(start.at);
    let window = Window { from, to: history.last_pass().unwrap_or(from), passes: history.passes.len() };
    let mut replay = Replay::new(site_id, start, notes, history, settings, window);
    replay.run(usize::MAX);
    replay.finish()
}
