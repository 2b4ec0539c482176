//! The API's bodies for the controller: moves, feature states and decisions (see [`super::types`]).

use chrono::{DateTime, Utc};
use domain::{
    decisions::{DecisionRecord, Outcome},
    feature::{Feature, FeatureMode, FeatureState},
    moves::{Initiator, MoveRecord, MoveState},
    planning::Reason,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::page_of;

/// A supervised group move.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoveOut {
    pub id: Uuid,
    pub group: String,
    pub source: String,
    pub destination: String,
    pub state: MoveState,
    /// `operator <name>`, the controller feature that decided it, or `external`.
    pub initiated_by: String,
    pub decision_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub users_total: u64,
    pub users_moved: u64,
    /// Why it ended as it did, when forced, cancelled or aborted.
    pub note: String,
}

impl From<&MoveRecord> for MoveOut {
    fn from(m: &MoveRecord) -> Self {
        let initiated_by = match &m.initiated_by {
            Initiator::Operator(name) => format!("operator {name}"),
            other => other.label().to_string(),
        };
        Self {
            id: m.id,
            group: m.group.clone(),
            source: m.source_host.clone(),
            destination: m.destination_host.clone(),
            state: m.state,
            initiated_by,
            decision_id: m.decision_id,
            created_at: m.created_at,
            finished_at: m.finished_at,
            users_total: m.users_total,
            users_moved: m.users_moved,
            note: m.note.clone(),
        }
    }
}

page_of!(MovePage, MoveOut);

/// A feature of a site: its stored state, the mode the controller runs it in, and why they differ.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeatureOut {
    pub feature: Feature,
    pub stored: FeatureState,
    pub effective: FeatureState,
    /// Why the effective mode differs from the stored state (`DRY_RUN`, `GROUP_BALANCE_ENABLED`).
    pub reason: Option<String>,
}

impl From<&FeatureMode> for FeatureOut {
    fn from(m: &FeatureMode) -> Self {
        Self {
            feature: m.feature,
            stored: m.stored,
            effective: m.effective,
            reason: m.reason.map(|r| r.explain().to_string()),
        }
    }
}

/// A feature's new state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureChange {
    pub state: FeatureState,
}

/// One of the controller's decisions, with its inputs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DecisionOut {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub feature: Feature,
    pub mode: FeatureState,
    pub outcome: Outcome,
    /// Why it was decided, as a program compares it; `summary` says it in words.
    pub reason: Reason,
    pub summary: String,
    /// Why it was refused or failed; empty otherwise.
    pub detail: String,
    /// The controller instance that decided, with its fencing token.
    pub holder: String,
    /// The decision with the inputs it was made from, as the controller recorded it.
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
}

impl From<&DecisionRecord> for DecisionOut {
    fn from(d: &DecisionRecord) -> Self {
        Self {
            id: d.id,
            at: d.at,
            feature: d.decision.feature,
            mode: d.mode,
            outcome: d.outcome,
            reason: d.decision.reason,
            summary: d.decision.summary.clone(),
            detail: d.detail.clone(),
            holder: format!("{} {}", d.holder, d.token),
            decision: serde_json::to_value(&d.decision).unwrap_or_default(),
        }
    }
}

page_of!(DecisionPage, DecisionOut);
