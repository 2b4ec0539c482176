//! What the charts and the summary show: both sites' state at each pass, and the record's own
//! totals.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::Replay;
use crate::{
    decisions::Outcome,
    geodb::BackendStatus,
    metrics::HostScore,
    moves::{MoveRecord, MoveState},
    planning::Action,
    replay::{load, Both, History, PassMetrics, SeriesPoint, Summary},
};

impl Replay {
    /// The charts' point at a pass, and the offline time since the last one.
    pub(super) fn sample(
        &mut self,
        metrics: &PassMetrics,
        at: DateTime<Utc>,
        scores: Option<(&[HostScore], &[HostScore])>,
    ) {
        let offline = Both {
            recorded: self.world.backends.iter().filter(|b| self.recorded.is_offline(b.id)).count() as u64,
            replayed: self.world.backends.iter().filter(|b| b.status == BackendStatus::Offline).count() as u64,
        };
        if let Some(last) = self.last_pass {
            let secs = u64::try_from((at - last).num_seconds()).unwrap_or(0);
            self.summary.recorded.offline_secs += offline.recorded * secs;
            self.summary.replayed.offline_secs += offline.replayed * secs;
        }
        self.last_pass = Some(at);
        let recorded_online: HashSet<&str> =
            self.world.backends.iter().filter(|b| !self.recorded.is_offline(b.id)).map(|b| b.host.as_str()).collect();
        let replayed_online: HashSet<&str> =
            self.world.backends.iter().filter(|b| b.online()).map(|b| b.host.as_str()).collect();
        let online_recorded = |host: &str| recorded_online.contains(host);
        let online_replayed = |host: &str| replayed_online.contains(host);
        let spread = scores.map_or(Both::default(), |(recorded, replayed)| Both {
            recorded: load::spread(recorded, &online_recorded),
            replayed: load::spread(replayed, &online_replayed),
        });
        let min_logins = f64::from(self.settings.host_failure.min_logins);
        let worst = |online: &dyn Fn(&str) -> bool| {
            metrics.traffic.as_ref().map_or(0.0, |t| {
                t.iter()
                    .filter(|(host, _)| online(host))
                    .filter_map(|(_, t)| t.worst_ratio(min_logins))
                    .fold(0.0, f64::max)
            })
        };
        let worst_ratio = Both { recorded: worst(&online_recorded), replayed: worst(&online_replayed) };
        self.summary.recorded.peak_spread = self.summary.recorded.peak_spread.max(spread.recorded);
        self.summary.replayed.peak_spread = self.summary.replayed.peak_spread.max(spread.replayed);
        self.series.push(SeriesPoint { at, spread, worst_ratio, offline });
    }
}

/// The record's own totals over the window.
pub(super) fn recorded_summary(history: &History, from: DateTime<Utc>, to: DateTime<Utc>) -> Summary {
    let in_window = |at: DateTime<Utc>| at >= from && at <= to;
    let moves: Vec<&MoveRecord> = history.moves.iter().filter(|m| in_window(m.created_at)).collect();
    let landed = history
        .moves
        .iter()
        .filter(|m| matches!(m.state, MoveState::Finished | MoveState::Forced) && m.finished_at.is_some_and(in_window));
    Summary {
        moves: moves.len() as u64,
        forced: moves.iter().filter(|m| m.state == MoveState::Forced).count() as u64,
        users_moved: landed.map(|m| m.users_total).sum(),
        set_offline: history
            .decisions
            .iter()
            .filter(|d| in_window(d.at) && d.outcome == Outcome::Applied)
            .filter(|d| matches!(d.decision.action, Some(Action::SetOffline { .. })))
            .count() as u64,
        offline_secs: 0,
        peak_spread: 0.0,
    }
}
