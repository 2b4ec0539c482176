//! The replay's own copy of a site: its backends, its groups and the moves in flight. Only the
//! replayed decisions and the moves the record says others started change it.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StartState;
use crate::{
    geodb::BackendStatus,
    moves::{Initiator, MoveEnd, MoveRecord, NewMove},
    planning::{
        group_move_timeouts::{Observation, RowView},
        BackendState, GroupState,
    },
};

/// How a move runs in the replay: when its source starts it, and how fast it moves users
/// (docs/replay.md, "Moves").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MoveProfile {
    /// From the move's creation to its start; `None`: it never starts.
    pub start_delay: Option<Duration>,
    /// Users moved per second once started.
    pub rate: f64,
}

impl MoveProfile {
    fn start(&self, created: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(created + chrono::Duration::from_std(self.start_delay?).ok()?)
    }

    /// When the source has moved all `users`: it then ends the move at its destination.
    fn end(&self, created: DateTime<Utc>, users: u64) -> Option<DateTime<Utc>> {
        let start = self.start(created)?;
        if users == 0 {
            return Some(start);
        }
        if self.rate <= 0.0 || !self.rate.is_finite() {
            return None;
        }
        let millis = (users as f64 / self.rate * 1000.0).ceil().min(1e12) as i64;
        Some(start + chrono::Duration::milliseconds(millis))
    }

    /// `(moved, total)` as the source reports it at `now`, once it started the move.
    fn progress(&self, created: DateTime<Utc>, users: u64, now: DateTime<Utc>) -> Option<(u64, u64)> {
        let start = self.start(created)?;
        if now < start {
            return None;
        }
        let secs = (now - start).num_milliseconds() as f64 / 1000.0;
        let moved = (secs * self.rate.max(0.0)).floor();
        Some(((moved.min(users as f64)) as u64, users))
    }
}

/// A move under way in the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    pub record: MoveRecord,
    pub profile: MoveProfile,
}

/// Why a move could not start, as the controller's own start refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartRefused {
    NoSuchGroup,
    AlreadyMoving,
    NoBackend,
    DestinationCannotTakeIt,
}

impl std::fmt::Display for StartRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StartRefused::NoSuchGroup => "no such group",
            StartRefused::AlreadyMoving => "the group is already moving",
            StartRefused::NoBackend => "the group has no backend",
            StartRefused::DestinationCannotTakeIt => {
                "the destination must be online, with a load factor above 0, and not the group's backend"
            }
        })
    }
}

/// The replay's site.
#[derive(Debug, Clone)]
pub struct World {
    site_id: Uuid,
    pub backends: Vec<BackendState>,
    pub groups: Vec<GroupState>,
    group_at: HashMap<String, usize>,
    /// The `moving` token of each moving group.
    tokens: HashMap<usize, String>,
    pub flights: Vec<Flight>,
    pub last_load_balance_move: Option<DateTime<Utc>>,
    moves_started: u64,
}

impl World {
    pub fn new(site_id: Uuid, start: &StartState) -> Self {
        let group_at = start.groups.iter().enumerate().map(|(i, g)| (g.name.clone(), i)).collect();
        let mut world = Self {
            site_id,
            backends: start.backends.clone(),
            groups: start.groups.clone(),
            group_at,
            tokens: HashMap::new(),
            flights: Vec::new(),
            last_load_balance_move: start.last_load_balance_move,
            moves_started: 0,
        };
        for flight in &start.moves {
            if let Some(&i) = world.group_at.get(&flight.record.group) {
                world.tokens.insert(i, flight.record.moving_token.clone());
                world.groups[i].moving = true;
                world.groups[i].alt_backend_id = Some(flight.record.destination);
                world.flights.push(flight.clone());
            }
        }
        world
    }

    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.group_at.get(name).copied()
    }

    pub fn backend(&self, id: Uuid) -> Option<&BackendState> {
        self.backends.iter().find(|b| b.id == id)
    }

    pub fn host(&self, id: Uuid) -> String {
        self.backend(id).map_or_else(|| id.to_string(), |b| b.host.clone())
    }

    /// Sets a backend's status if it is still `seen` (the controller's conditional write).
    pub fn set_status(&mut self, id: Uuid, seen: &BackendStatus, status: BackendStatus, reason: &str) -> bool {
        match self.backends.iter_mut().find(|b| b.id == id) {
            Some(b) if b.status == *seen => {
                b.status = status;
                b.status_reason = reason.to_string();
                true
            }
            _ => false,
        }
    }

    pub fn set_alt(&mut self, group: &str, alt: Uuid) {
        if let Some(i) = self.group_index(group) {
            self.groups[i].alt_backend_id = Some(alt);
        }
    }

    /// Starts a move as the controller does: `moving` set and the alternative pointed at the
    /// destination, only if the group has a backend, is not moving, and the destination can
    /// take it.
    pub fn start_move(
        &mut self,
        group: &str,
        destination: Uuid,
        initiator: Initiator,
        profile: MoveProfile,
        now: DateTime<Utc>,
    ) -> Result<(), StartRefused> {
        let i = self.group_index(group).ok_or(StartRefused::NoSuchGroup)?;
        let g = &self.groups[i];
        if g.moving {
            return Err(StartRefused::AlreadyMoving);
        }
        let (source, users) = (g.backend_id.ok_or(StartRefused::NoBackend)?, g.users);
        let target = self.backend(destination).ok_or(StartRefused::DestinationCannotTakeIt)?;
        if !target.online() || target.load_factor <= 0 || destination == source {
            return Err(StartRefused::DestinationCannotTakeIt);
        }
        let destination_host = target.host.clone();
        self.moves_started += 1;
        let token = format!("replay-{}", self.moves_started);
        let record = MoveRecord::initiated(NewMove {
            site_id: self.site_id,
            group,
            token: &token,
            source: Some(MoveEnd { id: source, host: self.host(source) }),
            destination: MoveEnd { id: destination, host: destination_host },
            initiator,
            decision_id: None,
            users_total: users,
            now,
        });
        let g = &mut self.groups[i];
        g.moving = true;
        g.alt_backend_id = Some(destination);
        g.last_moved = Some(g.last_moved.map_or(now, |t| t.max(now)));
        self.tokens.insert(i, token);
        for b in &mut self.backends {
            if b.id == source {
                b.last_moved_from = Some(now);
            }
            if b.id == destination {
                b.last_moved_to = Some(now);
            }
        }
        self.flights.push(Flight { record, profile });
        Ok(())
    }

    /// Puts a group on `destination` and ends its move (the source finished it, or it was
    /// forced).
    pub fn land(&mut self, group: &str, destination: Uuid, now: DateTime<Utc>) {
        let Some(i) = self.group_index(group) else { return };
        let g = &mut self.groups[i];
        g.backend_id = Some(destination);
        g.moving = false;
        g.last_moved = Some(g.last_moved.map_or(now, |t| t.max(now)));
        self.tokens.remove(&i);
    }

    /// The sources at work up to `now`: a move whose users have all moved ends at its
    /// destination, as a Pro source backend ends it.
    pub fn run_sources(&mut self, now: DateTime<Utc>) {
        let done: Vec<(String, Uuid)> = self
            .flights
            .iter()
            .filter(|f| self.still_moving(f))
            .filter_map(|f| {
                let end = f.profile.end(f.record.created_at, f.record.users_total)?;
                (end <= now).then(|| (f.record.group.clone(), f.record.destination))
            })
            .collect();
        for (group, destination) in done {
            if let Some(i) = self.group_index(&group) {
                let g = &mut self.groups[i];
                g.backend_id = Some(destination);
                g.moving = false;
                self.tokens.remove(&i);
            }
        }
    }

    fn still_moving(&self, f: &Flight) -> bool {
        self.group_index(&f.record.group).and_then(|i| self.tokens.get(&i)) == Some(&f.record.moving_token)
    }

    /// What supervision sees of a move now: the group's row and its source's progress.
    pub fn observe(&self, f: &Flight, now: DateTime<Utc>) -> Observation {
        let Some(i) = self.group_index(&f.record.group) else { return Observation::default() };
        let g = &self.groups[i];
        let moving = self.tokens.get(&i).cloned().unwrap_or_default();
        let progress = if self.still_moving(f) {
            f.profile.progress(f.record.created_at, f.record.users_total, now)
        } else {
            None
        };
        Observation { row: Some(RowView { backend_id: g.backend_id, moving }), progress, source_clear: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn a_profile_starts_after_its_delay_and_moves_at_its_rate() {
        let p = MoveProfile { start_delay: Some(Duration::from_secs(10)), rate: 2.0 };
        assert_eq!(p.progress(at(0), 100, at(5)), None);
        assert_eq!(p.progress(at(0), 100, at(20)), Some((20, 100)));
        assert_eq!(p.progress(at(0), 100, at(500)), Some((100, 100)));
        assert_eq!(p.end(at(0), 100), Some(at(60)));
        let stalled = MoveProfile { start_delay: None, rate: 2.0 };
        assert_eq!((stalled.progress(at(0), 100, at(500)), stalled.end(at(0), 100)), (None, None));
    }
}
