//! How fast replayed moves run: a move the record has runs at its recorded pace; any other at
//! the median pace of the recorded ones (docs/replay.md, "Moves").

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::world::MoveProfile;
use crate::moves::{MoveRecord, MoveState};
use uuid::Uuid;

/// The pace of moves when the record has none: started at once, 10 users a second.
pub const FALLBACK_PACE: MoveProfile = MoveProfile { start_delay: Some(Duration::ZERO), rate: 10.0 };

fn secs(d: chrono::Duration) -> f64 {
    (d.num_milliseconds() as f64 / 1000.0).max(0.0)
}

/// One recorded move's pace: when it started after its creation, and its users per second
/// from its start to its end (or to its last observation, while it runs).
pub fn of_record(m: &MoveRecord) -> MoveProfile {
    let ended = matches!(m.state, MoveState::Finished | MoveState::Forced | MoveState::Aborted);
    let last = if ended { m.finished_at } else { m.observed_at };
    let start = match (m.started_at, m.state) {
        (Some(started), _) => Some(started.max(m.created_at)),
        // Finished before supervision saw it start: it started at once.
        (None, MoveState::Finished) => Some(m.created_at),
        (None, _) => None,
    };
    let Some(start) = start else {
        return MoveProfile { start_delay: None, rate: 0.0 };
    };
    let moved = if m.state == MoveState::Finished { m.users_total.max(m.users_moved) } else { m.users_moved };
    let running = last.map_or(0.0, |end| secs(end - start));
    let rate = if moved == 0 {
        0.0
    } else {
        // A move done within a second moved its users in at most that second.
        moved as f64 / running.max(1.0)
    };
    MoveProfile { start_delay: (start - m.created_at).to_std().ok(), rate }
}

/// The recorded moves' paces, looked up by group, destination and time.
#[derive(Debug, Clone)]
pub struct Paces {
    recorded: Vec<(String, Uuid, DateTime<Utc>, MoveProfile)>,
    median: MoveProfile,
}

impl Paces {
    pub fn new(moves: &[MoveRecord]) -> Self {
        let recorded: Vec<_> =
            moves.iter().map(|m| (m.group.clone(), m.destination, m.created_at, of_record(m))).collect();
        // The median over moves that ran to their end by themselves.
        let mut finished: Vec<MoveProfile> =
            moves.iter().filter(|m| m.state == MoveState::Finished).map(of_record).collect();
        let median = if finished.is_empty() {
            FALLBACK_PACE
        } else {
            finished.sort_by(|a, b| a.rate.total_cmp(&b.rate));
            let rate = finished[finished.len() / 2].rate;
            let mut delays: Vec<Duration> = finished.iter().filter_map(|p| p.start_delay).collect();
            delays.sort_unstable();
            MoveProfile { start_delay: Some(delays.get(delays.len() / 2).copied().unwrap_or_default()), rate }
        };
        Self { recorded, median }
    }

    /// The pace of the recorded move of `group` to `destination` created nearest `at`, within
    /// `tolerance`; otherwise the median pace.
    pub fn lookup(&self, group: &str, destination: Uuid, at: DateTime<Utc>, tolerance: Duration) -> MoveProfile {
        let tolerance = chrono::Duration::from_std(tolerance).unwrap_or(chrono::Duration::MAX);
        self.recorded
            .iter()
            .filter(|(g, d, created, _)| g == group && *d == destination && (*created - at).abs() <= tolerance)
            .min_by_key(|(_, _, created, _)| (*created - at).abs())
            .map_or(self.median, |(_, _, _, pace)| *pace)
    }

    pub fn median(&self) -> MoveProfile {
        self.median
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moves::{Initiator, MoveEnd, NewMove};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn record(group: &str, state: MoveState, started: Option<i64>, finished: i64, moved: u64) -> MoveRecord {
        let mut m = MoveRecord::initiated(NewMove {
            site_id: Uuid::nil(),
            group,
            token: "t",
            source: Some(MoveEnd { id: Uuid::from_u128(1), host: "a".into() }),
            destination: MoveEnd { id: Uuid::from_u128(2), host: "b".into() },
            initiator: Initiator::External,
            decision_id: None,
            users_total: 100,
            now: at(0),
        });
        m.state = state;
        m.started_at = started.map(at);
        m.finished_at = Some(at(finished));
        m.users_moved = moved;
        m
    }

    #[test]
    fn a_recorded_move_keeps_its_start_and_pace_and_others_take_the_median() {
        let moves = [
            record("g1", MoveState::Finished, Some(10), 60, 100),
            record("g2", MoveState::Finished, Some(20), 220, 100),
            record("g3", MoveState::Forced, None, 180, 0),
            record("g4", MoveState::Finished, Some(5), 15, 100),
        ];
        let paces = Paces::new(&moves);
        let g1 = paces.lookup("g1", Uuid::from_u128(2), at(30), Duration::from_secs(60));
        assert_eq!(g1, MoveProfile { start_delay: Some(Duration::from_secs(10)), rate: 2.0 });
        let stalled = paces.lookup("g3", Uuid::from_u128(2), at(0), Duration::from_secs(60));
        assert_eq!(stalled.start_delay, None);
        // Rates 0.5, 2 and 10: the median is 2, with the median delay of 5, 10 and 20.
        let other = paces.lookup("g9", Uuid::from_u128(2), at(0), Duration::from_secs(60));
        assert_eq!(other, MoveProfile { start_delay: Some(Duration::from_secs(10)), rate: 2.0 });
        let too_late = paces.lookup("g1", Uuid::from_u128(2), at(600), Duration::from_secs(60));
        assert_eq!(too_late, paces.median());
    }
}
