//! The controller's planners: pure functions of (state, metrics, now, settings) that return
//! decisions. They do no I/O; an executor (issue 5) applies the decisions and records them
//! with their inputs. Behaviour follows spec section (c) and its proposals where the public
//! documentation is silent.

pub mod drain;
pub mod group_balance;
pub mod host_failure;
pub mod load_balance;
pub mod supervision;

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    feature::Feature,
    geodb::{Backend, BackendStatus},
};

/// A backend as the planners see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendState {
    pub id: Uuid,
    pub host: String,
    pub status: BackendStatus,
    pub status_reason: String,
    pub load_factor: i32,
    /// The doveadm API answered lately (spec c.2).
    pub reachable: bool,
    pub last_moved_from: Option<DateTime<Utc>>,
    pub last_moved_to: Option<DateTime<Utc>>,
}

impl BackendState {
    /// From a GeoDB row and the reachability probe's verdict.
    pub fn from_row(row: &Backend, reachable: bool) -> Self {
        Self {
            id: row.id,
            host: row.host.clone(),
            status: row.status.clone(),
            status_reason: row.status_reason.clone(),
            load_factor: row.load_factor,
            reachable,
            last_moved_from: parse_moved_at(&row.last_moved_from),
            last_moved_to: parse_moved_at(&row.last_moved_to),
        }
    }

    pub fn online(&self) -> bool {
        self.status == BackendStatus::Online
    }
}

/// A group as the planners see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub name: String,
    pub backend_id: Option<Uuid>,
    pub moving: bool,
    pub sticky_backend: bool,
    /// When the controller last moved it, if known.
    pub last_moved: Option<DateTime<Utc>>,
    /// Users in the group, from the census (0 when unknown).
    pub users: u64,
}

/// What a planner wants done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    SetOffline {
        backend: Uuid,
    },
    SetOnline {
        backend: Uuid,
    },
    MoveGroup {
        group: String,
        from: Uuid,
        to: Uuid,
    },
    /// Reassign `users` users from one group to another on the same backend (group-size balancing).
    MoveUsers {
        backend: Uuid,
        from_group: String,
        to_group: String,
        users: u64,
    },
}

/// One decision with everything needed to explain it later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The feature that decided.
    pub feature: Feature,
    /// What to do; `None` records a considered non-action worth showing.
    pub action: Option<Action>,
    /// One line for people: what and why.
    pub summary: String,
    /// The numbers the decision rests on (ratios, counts, scores, thresholds).
    pub inputs: BTreeMap<String, f64>,
    /// Candidates that were not chosen, with the reason.
    pub rejected: Vec<(String, String)>,
}

/// Reads `last_moved_from`/`last_moved_to`: RFC 3339, or Unix seconds (spec H-13).
pub fn parse_moved_at(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| text.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0)))
}

/// True when `at` is more than `cool` before `now` (or never happened).
pub fn cooled(at: Option<DateTime<Utc>>, now: DateTime<Utc>, cool: Duration) -> bool {
    at.is_none_or(|t| now - t >= chrono::Duration::from_std(cool).unwrap_or(chrono::Duration::MAX))
}

/// Picks the group to move away from `backend`: not moving, not sticky to its backend, cooled
/// down; the one closest to the median size, then the least recently moved, then by name.
pub fn pick_group(groups: &[GroupState], backend: Uuid, now: DateTime<Utc>, cool: Duration) -> Option<&GroupState> {
    let mut sizes: Vec<u64> = groups.iter().filter(|g| g.backend_id == Some(backend)).map(|g| g.users).collect();
    sizes.sort_unstable();
    let median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
    groups
        .iter()
        .filter(|g| g.backend_id == Some(backend) && !g.moving && !g.sticky_backend && cooled(g.last_moved, now, cool))
        .min_by(|a, b| {
            a.users
                .abs_diff(median)
                .cmp(&b.users.abs_diff(median))
                .then(a.last_moved.cmp(&b.last_moved))
                .then(a.name.cmp(&b.name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_at_reads_rfc3339_and_epoch() {
        assert_eq!(parse_moved_at("2026-11-28T10:00:00Z").map(|t| t.timestamp()), Some(1_795_860_000));
        assert_eq!(parse_moved_at("1795860000").map(|t| t.timestamp()), Some(1_795_860_000));
        assert_eq!(parse_moved_at(""), None);
        assert_eq!(parse_moved_at("yesterday"), None);
    }
}
