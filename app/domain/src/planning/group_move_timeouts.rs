//! The `group_move_timeouts` feature, group move supervision (docs/controller.md, "Move supervision"): from what the GeoDB row and the source backend say about
//! a move, decide whether it started, finished, vanished, or must be forced.
//!
//! Forcing: not started within `GROUP_MOVE_START_TIMEOUT_SECS` of its creation; or started
//! and the linear trend of moved users puts the end after `GROUP_MOVE_FINISH_TIMEOUT_SECS`
//! from the start; or running longer than that. With no user moved yet the trend is unknown
//! and only the plain timeouts apply.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Action, Decision, DecisionInputs, MoveTimeoutInputs, Reason};
use crate::{
    feature::Feature,
    moves::{MoveRecord, MoveState},
};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupervisionSettings {
    pub start_timeout: Duration,
    pub finish_timeout: Duration,
}

/// What the supervisor saw this time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Observation {
    /// The group's row: `None` when it is gone.
    pub row: Option<RowView>,
    /// `(moved, total)` from the source backend, when it answered and knows the move.
    pub progress: Option<(u64, u64)>,
    /// Dovecot CE: the source answered and has no session of the group left.
    #[serde(default)]
    pub source_clear: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowView {
    pub backend_id: Option<Uuid>,
    pub moving: String,
}

/// What to do about a move.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Still running: the record updated with progress, rate, ETA and state.
    Running(MoveRecord),
    /// The source finished it.
    Finished(MoveRecord),
    /// Dovecot CE: no session of the group is left on the source; the controller ends the
    /// move itself (Pro's source backend would).
    Complete(MoveRecord),
    /// Someone else ended or replaced it.
    Aborted(MoveRecord, String),
    /// Must be forced: the reason, in words too, and the numbers behind it.
    Force(MoveRecord, Reason, String, MoveTimeoutInputs),
}

/// The decision to force a move at its timeout: to its destination, from its source.
pub fn force_decision(m: &MoveRecord, reason: Reason, why: &str, inputs: MoveTimeoutInputs) -> Decision {
    Decision {
        feature: Feature::GroupMoveTimeouts,
        reason,
        action: m.source.map(|from| Action::MoveGroup { group: m.group.clone(), from, to: m.destination }),
        summary: format!("force {} to {}: {why}", m.group, m.destination_host),
        inputs: DecisionInputs::GroupMoveTimeouts(inputs),
        rejected: vec![],
    }
}

/// Judges one active move.
pub fn supervise(record: &MoveRecord, seen: &Observation, now: DateTime<Utc>, s: &SupervisionSettings) -> Verdict {
    let mut next = record.clone();
    next.observed_at = Some(now);
    let Some(row) = &seen.row else {
        return Verdict::Aborted(next, "the group no longer exists".into());
    };
    if row.moving.is_empty() || row.moving != record.moving_token {
        if row.moving.is_empty() && row.backend_id == Some(record.destination) {
            next.users_moved = next.users_total.max(next.users_moved);
            return Verdict::Finished(next);
        }
        let why =
            if row.moving.is_empty() { "the move was cleared by someone else" } else { "another move replaced it" };
        return Verdict::Aborted(next, why.into());
    }
    if let Some((moved, total)) = seen.progress {
        next.users_moved = moved;
        if total > 0 {
            next.users_total = total;
        }
        if next.state == MoveState::Initiated && (moved > 0 || total > 0) {
            // The source knows the move, so it started since we last looked (or, with users
            // already moved, before: then the last look is the best bound we have).
            next.started_at = Some(if moved > 0 { record.observed_at.unwrap_or(record.created_at) } else { now });
            next.state = MoveState::Started;
        }
    }
    if seen.source_clear {
        next.users_moved = next.users_total.max(next.users_moved);
        next.started_at = next.started_at.or(Some(now));
        next.state = MoveState::Started;
        return Verdict::Complete(next);
    }
    let secs = |d: chrono::Duration| d.num_milliseconds() as f64 / 1000.0;
    let mut inputs = MoveTimeoutInputs {
        move_id: record.id,
        start_timeout_secs: s.start_timeout.as_secs_f64(),
        finish_timeout_secs: s.finish_timeout.as_secs_f64(),
        users_moved: next.users_moved,
        users_total: next.users_total,
        waited_secs: None,
        running_secs: None,
        rate_users_per_sec: None,
        eta_secs_from_start: None,
    };
    match next.started_at {
        None => {
            let waited = secs(now - next.created_at);
            inputs.waited_secs = Some(waited);
            next.rate = 0.0;
            next.eta = None;
            if waited > s.start_timeout.as_secs_f64() {
                return Verdict::Force(
                    next,
                    Reason::StartTimeout,
                    format!("not started after {waited:.0} s (start timeout {} s)", s.start_timeout.as_secs()),
                    inputs,
                );
            }
            Verdict::Running(next)
        }
        Some(started) => {
            let running = secs(now - started).max(0.0);
            inputs.running_secs = Some(running);
            next.rate = if running > 0.0 { next.users_moved as f64 / running } else { 0.0 };
            let remaining = next.users_total.saturating_sub(next.users_moved) as f64;
            next.eta = (next.rate > 0.0)
                .then(|| now + chrono::Duration::milliseconds((remaining / next.rate * 1000.0).min(1e15) as i64));
            let deadline = started + chrono::Duration::from_std(s.finish_timeout).unwrap_or(chrono::Duration::MAX);
            inputs.rate_users_per_sec = Some(next.rate);
            if running > s.finish_timeout.as_secs_f64() {
                return Verdict::Force(
                    next,
                    Reason::FinishTimeout,
                    format!("still running after {running:.0} s (finish timeout {} s)", s.finish_timeout.as_secs()),
                    inputs,
                );
            }
            if let Some(eta) = next.eta {
                inputs.eta_secs_from_start = Some(secs(eta - started));
                if eta > deadline {
                    let why = format!(
                        "at {:.1} users/s it would end {:.0} s after its start, past the finish timeout of {} s",
                        next.rate,
                        secs(eta - started),
                        s.finish_timeout.as_secs()
                    );
                    return Verdict::Force(next, Reason::FinishForeseenLate, why, inputs);
                }
            }
            Verdict::Running(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(now: DateTime<Utc>) -> MoveRecord {
        MoveRecord {
            id: Uuid::from_u128(1),
            site_id: Uuid::from_u128(2),
            group: "g1".into(),
            source: Some(Uuid::from_u128(10)),
            source_host: "a".into(),
            destination: Uuid::from_u128(11),
            destination_host: "b".into(),
            moving_token: "tok".into(),
            initiated_by: crate::moves::Initiator::Controller(crate::feature::Feature::LoadBalance),
            decision_id: None,
            state: MoveState::Initiated,
            created_at: now,
            started_at: None,
            finished_at: None,
            users_total: 100,
            users_moved: 0,
            rate: 0.0,
            eta: None,
            observed_at: None,
            note: String::new(),
        }
    }

    const S: SupervisionSettings =
        SupervisionSettings { start_timeout: Duration::from_secs(180), finish_timeout: Duration::from_secs(600) };

    fn moving(token: &str) -> Option<RowView> {
        Some(RowView { backend_id: Some(Uuid::from_u128(10)), moving: token.into() })
    }

    #[test]
    fn a_move_not_started_is_forced_only_after_the_start_timeout() {
        let t0 = Utc::now();
        let r = record(t0);
        let seen = Observation { source_clear: false, row: moving("tok"), progress: Some((0, 0)) };
        assert!(matches!(supervise(&r, &seen, t0 + chrono::Duration::seconds(180), &S), Verdict::Running(_)));
        assert!(matches!(supervise(&r, &seen, t0 + chrono::Duration::seconds(181), &S), Verdict::Force(..)));
    }

    #[test]
    fn a_steady_move_runs_and_a_slow_one_is_forced_by_its_trend() {
        let t0 = Utc::now();
        let mut r = record(t0);
        r.state = MoveState::Started;
        r.started_at = Some(t0);
        // 50 of 100 in 100 s: ends at 200 s, inside 600 s.
        let steady = Observation { source_clear: false, row: moving("tok"), progress: Some((50, 100)) };
        match supervise(&r, &steady, t0 + chrono::Duration::seconds(100), &S) {
            Verdict::Running(next) => {
                assert!((next.rate - 0.5).abs() < 1e-9);
                assert_eq!(next.eta.map(|e| (e - t0).num_seconds()), Some(200));
            }
            other => panic!("{other:?}"),
        }
        // 10 of 100 in 100 s: would end at 1000 s, past 600 s.
        let slow = Observation { source_clear: false, row: moving("tok"), progress: Some((10, 100)) };
        assert!(matches!(supervise(&r, &slow, t0 + chrono::Duration::seconds(100), &S), Verdict::Force(..)));
    }

    #[test]
    fn the_row_tells_finished_from_aborted() {
        let t0 = Utc::now();
        let r = record(t0);
        let done = Observation {
            row: Some(RowView { backend_id: Some(Uuid::from_u128(11)), moving: String::new() }),
            progress: None,
            source_clear: false,
        };
        assert!(matches!(supervise(&r, &done, t0, &S), Verdict::Finished(m) if m.users_moved == 100));
        let cleared = Observation {
            row: Some(RowView { backend_id: Some(Uuid::from_u128(10)), moving: String::new() }),
            progress: None,
            source_clear: false,
        };
        assert!(matches!(supervise(&r, &cleared, t0, &S), Verdict::Aborted(..)));
        let cleared_by_kicks = Observation { source_clear: true, row: moving("tok"), progress: Some((3, 100)) };
        assert!(matches!(supervise(&r, &cleared_by_kicks, t0, &S), Verdict::Complete(m) if m.users_moved == 100));
        let replaced = Observation { source_clear: false, row: moving("other"), progress: None };
        assert!(matches!(supervise(&r, &replaced, t0, &S), Verdict::Aborted(..)));
        assert!(matches!(supervise(&r, &Observation::default(), t0, &S), Verdict::Aborted(..)));
    }

    #[test]
    fn progress_from_the_source_marks_the_start() {
        let t0 = Utc::now();
        let r = record(t0);
        let seen = Observation { source_clear: false, row: moving("tok"), progress: Some((5, 100)) };
        match supervise(&r, &seen, t0 + chrono::Duration::seconds(5), &S) {
            Verdict::Running(next) => assert_eq!(next.state, MoveState::Started),
            other => panic!("{other:?}"),
        }
    }
}
