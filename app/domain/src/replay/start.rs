//! The site as it stood when a replay's window began: today's state with the changes recorded
//! since undone (docs/replay.md, "The starting state").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{pace, world::Flight};
use crate::{
    decisions::{DecisionRecord, Outcome},
    feature::Feature,
    geodb::BackendStatus,
    moves::{Initiator, MoveRecord, MoveState},
    planning::{host_failure::offline_reason, Action, BackendState, GroupState},
};

/// The site at the start of a window.
#[derive(Debug, Clone)]
pub struct StartState {
    pub at: DateTime<Utc>,
    pub backends: Vec<BackendState>,
    pub groups: Vec<GroupState>,
    /// Moves under way at `at`.
    pub moves: Vec<Flight>,
    pub last_load_balance_move: Option<DateTime<Utc>>,
}

/// What could not be undone exactly, for the replay's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartNotes {
    /// Backends that came online in the window without a recorded offline decision before
    /// it: their offline time is taken as the window's start.
    pub offline_since_unknown: Vec<String>,
    /// Groups moving now with no recorded move: taken as not moving.
    pub moving_unrecorded: Vec<String>,
}

fn ended(m: &MoveRecord) -> bool {
    matches!(m.state, MoveState::Finished | MoveState::Forced | MoveState::Aborted)
}

/// Undoes, on today's `backends` and `groups`, the moves and the applied status decisions
/// recorded since `from`. `moves` and `decisions` may reach back before `from`: the earlier
/// ones give the groups' and backends' last moves and the offline times.
pub fn reconstruct(
    backends: &[BackendState],
    groups: &[GroupState],
    moves: &[MoveRecord],
    decisions: &[DecisionRecord],
    from: DateTime<Utc>,
) -> (StartState, StartNotes) {
    let mut notes = StartNotes::default();
    let mut by_group: BTreeMap<&str, Vec<&MoveRecord>> = BTreeMap::new();
    for m in moves {
        by_group.entry(m.group.as_str()).or_default().push(m);
    }
    for list in by_group.values_mut() {
        list.sort_by_key(|m| (m.created_at, m.id));
    }
    let mut flights = Vec::new();
    let groups: Vec<GroupState> = groups
        .iter()
        .map(|g| {
            let mut g = g.clone();
            let mine = by_group.get(g.name.as_str()).map_or(&[][..], Vec::as_slice);
            // The first move that had not ended by `from`: the group stood on its source then.
            let first =
                mine.iter().find(|m| m.created_at >= from || !ended(m) || m.finished_at.is_none_or(|t| t >= from));
            let moving_now = g.moving;
            g.moving = false;
            if let Some(m) = first {
                g.backend_id = m.source.or(g.backend_id);
                if m.created_at < from {
                    g.moving = true;
                    g.alt_backend_id = Some(m.destination);
                    flights.push(in_flight_at(m, from));
                }
            } else if moving_now {
                notes.moving_unrecorded.push(g.name.clone());
            }
            g.last_moved = mine
                .iter()
                .filter(|m| m.created_at < from)
                .map(|m| m.finished_at.filter(|t| *t < from).unwrap_or(m.created_at))
                .max();
            g
        })
        .collect();
    let backends = backends
        .iter()
        .map(|b| {
            let mut b = b.clone();
            let before = |side: fn(&MoveRecord) -> Option<uuid::Uuid>| {
                moves.iter().filter(|m| m.created_at < from && side(m) == Some(b.id)).map(|m| m.created_at).max()
            };
            b.last_moved_from = before(|m| m.source).or(b.last_moved_from.filter(|t| *t < from));
            b.last_moved_to = before(|m| Some(m.destination)).or(b.last_moved_to.filter(|t| *t < from));
            b.reachable = true;
            let mut changes: Vec<&DecisionRecord> = decisions
                .iter()
                .filter(|d| d.at >= from && d.outcome == Outcome::Applied && status_of(d, b.id).is_some())
                .collect();
            changes.sort_by_key(|d| std::cmp::Reverse((d.at, d.id)));
            for d in changes {
                if status_of(d, b.id) == Some(BackendStatus::Offline) {
                    b.status = BackendStatus::Online;
                    b.status_reason = String::new();
                } else {
                    b.status = BackendStatus::Offline;
                    let earlier = decisions
                        .iter()
                        .filter(|e| {
                            e.at < d.at
                                && e.outcome == Outcome::Applied
                                && status_of(e, b.id) == Some(BackendStatus::Offline)
                        })
                        .max_by_key(|e| (e.at, e.id));
                    b.status_reason = match earlier {
                        Some(e) => offline_reason(e.at, &e.decision.summary),
                        None => {
                            notes.offline_since_unknown.push(b.host.clone());
                            offline_reason(from, "set offline before the window")
                        }
                    };
                }
            }
            b
        })
        .collect();
    let ours = Initiator::Controller(Feature::LoadBalance);
    let last_load_balance_move =
        moves.iter().filter(|m| m.created_at < from && m.initiated_by == ours).map(|m| m.created_at).max();
    notes.offline_since_unknown.dedup();
    (StartState { at: from, backends, groups, moves: flights, last_load_balance_move }, notes)
}

/// The status an applied decision gave `backend`, if it was about it.
fn status_of(d: &DecisionRecord, backend: uuid::Uuid) -> Option<BackendStatus> {
    match d.decision.action {
        Some(Action::SetOffline { backend: b }) if b == backend => Some(BackendStatus::Offline),
        Some(Action::SetOnline { backend: b }) if b == backend => Some(BackendStatus::Online),
        _ => None,
    }
}

/// A move created before `from` as it stood at `from`: started or not, nothing moved yet that
/// the replay knows of, at its recorded pace.
fn in_flight_at(m: &MoveRecord, from: DateTime<Utc>) -> Flight {
    let mut record = m.clone();
    record.finished_at = None;
    record.note = String::new();
    record.users_moved = 0;
    record.observed_at = None;
    record.eta = None;
    record.rate = 0.0;
    record.started_at = m.started_at.filter(|t| *t < from);
    record.state = if record.started_at.is_some() { MoveState::Started } else { MoveState::Initiated };
    Flight { record, profile: pace::of_record(m) }
}
