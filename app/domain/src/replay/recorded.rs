//! The site as the record has it through the window: where each group stood and which
//! backends were offline, advanced by the recorded moves' ends and the applied status
//! decisions. The load model and the charts compare the replay with it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StartState;
use crate::{
    decisions::{DecisionRecord, Outcome},
    geodb::BackendStatus,
    moves::{MoveRecord, MoveState},
    planning::Action,
};

#[derive(Debug, Clone)]
enum Change {
    Landed { group: usize, backend: Uuid },
    Status { backend: Uuid, offline: bool },
}

#[derive(Debug, Clone)]
pub struct Recorded {
    /// Each group's backend, aligned with the start's groups.
    pub placement: Vec<Option<Uuid>>,
    pub offline: HashMap<Uuid, bool>,
    changes: Vec<(DateTime<Utc>, Change)>,
    next: usize,
}

impl Recorded {
    pub fn new(start: &StartState, moves: &[MoveRecord], decisions: &[DecisionRecord]) -> Self {
        let index: HashMap<&str, usize> = start.groups.iter().enumerate().map(|(i, g)| (g.name.as_str(), i)).collect();
        let mut changes = Vec::new();
        for m in moves.iter().filter(|m| matches!(m.state, MoveState::Finished | MoveState::Forced)) {
            if let (Some(at), Some(&group)) = (m.finished_at, index.get(m.group.as_str())) {
                if at > start.at {
                    changes.push((at, Change::Landed { group, backend: m.destination }));
                }
            }
        }
        for d in decisions.iter().filter(|d| d.at > start.at && d.outcome == Outcome::Applied) {
            match d.decision.action {
                Some(Action::SetOffline { backend }) => changes.push((d.at, Change::Status { backend, offline: true })),
                Some(Action::SetOnline { backend }) => changes.push((d.at, Change::Status { backend, offline: false })),
                _ => {}
            }
        }
        changes.sort_by_key(|(at, _)| *at);
        Self {
            placement: start.groups.iter().map(|g| g.backend_id).collect(),
            offline: start.backends.iter().map(|b| (b.id, b.status == BackendStatus::Offline)).collect(),
            changes,
            next: 0,
        }
    }

    /// Applies the recorded changes up to `now`.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        while let Some((at, change)) = self.changes.get(self.next) {
            if *at > now {
                break;
            }
            match change {
                Change::Landed { group, backend } => {
                    if let Some(slot) = self.placement.get_mut(*group) {
                        *slot = Some(*backend);
                    }
                }
                Change::Status { backend, offline } => {
                    self.offline.insert(*backend, *offline);
                }
            }
            self.next += 1;
        }
    }

    pub fn is_offline(&self, backend: Uuid) -> bool {
        self.offline.get(&backend).copied().unwrap_or(false)
    }
}
