//! The API's bodies for the controller: moves, feature states and decisions (see [`super::types`]).

use app::domain::{
    controller::{DecisionRecord, Initiator, MoveRecord},
    feature::{Feature, FeatureMode, FeatureState},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::page_of;

/// Where a move stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MoveStateOut {
    Initiated,
    Started,
    Finished,
    Forced,
    Cancelled,
    Aborted,
}

/// A supervised group move.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoveOut {
    pub id: Uuid,
    pub group: String,
    pub source: String,
    pub destination: String,
    pub state: MoveStateOut,
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
        use app::domain::controller::MoveState as S;
        let state = match m.state {
            S::Initiated => MoveStateOut::Initiated,
            S::Started => MoveStateOut::Started,
            S::Finished => MoveStateOut::Finished,
            S::Forced => MoveStateOut::Forced,
            S::Cancelled => MoveStateOut::Cancelled,
            S::Aborted => MoveStateOut::Aborted,
        };
        let initiated_by = match &m.initiated_by {
            Initiator::Operator(name) => format!("operator {name}"),
            other => other.label().to_string(),
        };
        Self {
            id: m.id,
            group: m.group.clone(),
            source: m.source_host.clone(),
            destination: m.destination_host.clone(),
            state,
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

/// A controller feature; the command line takes the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum FeatureName {
    HostFailure,
    LoadBalance,
    GroupMoveTimeouts,
    Evacuation,
    GroupBalance,
    SiteHealth,
}

impl FeatureName {
    pub fn domain(self) -> Feature {
        match self {
            Self::HostFailure => Feature::HostFailure,
            Self::LoadBalance => Feature::LoadBalance,
            Self::GroupMoveTimeouts => Feature::GroupMoveTimeouts,
            Self::Evacuation => Feature::Evacuation,
            Self::GroupBalance => Feature::GroupBalance,
            Self::SiteHealth => Feature::SiteHealth,
        }
    }

    fn of(feature: Feature) -> Self {
        match feature {
            Feature::HostFailure => Self::HostFailure,
            Feature::LoadBalance => Self::LoadBalance,
            Feature::GroupMoveTimeouts => Self::GroupMoveTimeouts,
            Feature::Evacuation => Self::Evacuation,
            Feature::GroupBalance => Self::GroupBalance,
            Feature::SiteHealth => Self::SiteHealth,
        }
    }
}

/// A feature's state: on, dry (decides and records, writes nothing) or off; the command line
/// takes the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum StateName {
    On,
    Dryrun,
    Off,
}

impl StateName {
    pub fn domain(self) -> FeatureState {
        match self {
            Self::On => FeatureState::On,
            Self::Dryrun => FeatureState::Dryrun,
            Self::Off => FeatureState::Off,
        }
    }

    fn of(state: FeatureState) -> Self {
        match state {
            FeatureState::On => Self::On,
            FeatureState::Dryrun => Self::Dryrun,
            FeatureState::Off => Self::Off,
        }
    }
}

/// A feature of a site: its stored state, the mode the controller runs it in, and why they differ.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeatureOut {
    pub feature: FeatureName,
    pub stored: StateName,
    pub effective: StateName,
    /// Why the effective mode differs from the stored state (`DRY_RUN`, `GROUP_BALANCE_ENABLED`).
    pub reason: Option<String>,
}

impl From<&FeatureMode> for FeatureOut {
    fn from(m: &FeatureMode) -> Self {
        Self {
            feature: FeatureName::of(m.feature),
            stored: StateName::of(m.stored),
            effective: StateName::of(m.effective),
            reason: m.reason.map(|r| r.explain().to_string()),
        }
    }
}

/// A feature's new state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeatureChange {
    pub state: StateName,
}

/// What a decision did.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeOut {
    Applied,
    Dry,
    NoAction,
    Refused,
    Failed,
}

/// One of the controller's decisions, with its inputs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DecisionOut {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub feature: FeatureName,
    pub mode: StateName,
    pub outcome: OutcomeOut,
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
        use app::domain::controller::Outcome as O;
        let outcome = match d.outcome {
            O::Applied => OutcomeOut::Applied,
            O::Dry => OutcomeOut::Dry,
            O::NoAction => OutcomeOut::NoAction,
            O::Refused => OutcomeOut::Refused,
            O::Failed => OutcomeOut::Failed,
        };
        Self {
            id: d.id,
            at: d.at,
            feature: FeatureName::of(d.decision.feature),
            mode: StateName::of(d.mode),
            outcome,
            detail: d.detail.clone(),
            holder: format!("{} {}", d.holder, d.token),
            decision: serde_json::to_value(&d.decision).unwrap_or_default(),
        }
    }
}

page_of!(DecisionPage, DecisionOut);
