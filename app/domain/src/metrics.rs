//! What the controller reads from the metrics pipeline.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A backend's (or remote site's) traffic as the proxies saw it over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HostTraffic {
    pub logins_ok: f64,
    pub logins_failed: f64,
    pub deliveries_ok: f64,
    pub deliveries_failed: f64,
}

impl HostTraffic {
    /// Failed logins and deliveries over all of them, if there were any.
    pub fn failure_ratio(&self) -> Option<f64> {
        let failed = self.logins_failed + self.deliveries_failed;
        let total = failed + self.logins_ok + self.deliveries_ok;
        (total > 0.0).then(|| failed / total)
    }

    /// What host failure handling compares with `HOST_FAILURE_RATIO`: the worse of the login failure ratio and the delivery failure ratio, the latter only
    /// once there are at least `min_deliveries` deliveries, so that a handful cannot decide.
    pub fn worst_ratio(&self, min_deliveries: f64) -> Option<f64> {
        let logins = self.logins_ok + self.logins_failed;
        let deliveries = self.deliveries_ok + self.deliveries_failed;
        let login = (logins > 0.0).then(|| self.logins_failed / logins);
        let delivery = (deliveries > 0.0 && deliveries >= min_deliveries).then(|| self.deliveries_failed / deliveries);
        match (login, delivery) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Logins seen, failed or not.
    pub fn logins(&self) -> f64 {
        self.logins_ok + self.logins_failed
    }
}

/// The resources whose Z-scores make up a backend's load score.
pub const SCORED_RESOURCES: [&str; 3] = ["memused", "cpu", "metacache"];

/// One backend's Z-score for one resource: its average over a window, and how many samples
/// there are over the last 24 hours (for `HOST_LOAD_BALANCE_MIN_SAMPLES`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostScore {
    pub host: String,
    pub score: String,
    pub average: f64,
    pub samples_24h: u64,
}

/// A per-host measure over time, as the history charts show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostMeasure {
    /// Logins seen by the proxies (failed or not), per minute, averaged over 5 minutes.
    LoginsPerMinute,
    /// Failed logins and deliveries over all of them, over 5 minutes (0 to 1); no point where
    /// there was no traffic.
    FailureRatio,
    /// The host's Z-scores ([`SCORED_RESOURCES`]) summed, as load balancing ranks hosts.
    SummedZScore,
}

/// The window the traffic measures are averaged over (the rate's range, as in `[5m]`).
pub const HISTORY_RATE_WINDOW: Duration = Duration::from_secs(300);

impl HostMeasure {
    /// A traffic measure's value from rates per second over [`HISTORY_RATE_WINDOW`]: logins
    /// per minute, or the failure ratio (none without traffic). `None` for Z-scores, which
    /// are not traffic.
    pub fn of_rates(self, per_second: &HostTraffic) -> Option<f64> {
        match self {
            Self::LoginsPerMinute => Some(per_second.logins() * 60.0),
            Self::FailureRatio => per_second.failure_ratio(),
            Self::SummedZScore => None,
        }
    }
}

/// One host's values of a measure, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSeries {
    pub host: String,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// The times a history answers: `start`, `start + step`, … up to `end`, as Prometheus'
/// `query_range` evaluates them, so that every metrics adapter answers on the same times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryGrid {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Whole seconds, at least 1 (Prometheus' resolution is finer, but no chart needs it).
    pub step_secs: i64,
}

/// The longest range a history grid covers; longer ones are cut (a caller's typo of a range
/// must not overflow the time arithmetic).
const MAX_RANGE_SECS: u64 = 400 * 24 * 3600;

impl HistoryGrid {
    /// The grid over `range` up to `end` every `step`: the step rounded up to whole seconds
    /// and widened until there are at most `max_points` times (at least 2 are allowed).
    pub fn new(end: DateTime<Utc>, range: Duration, step: Duration, max_points: usize) -> Self {
        let range_secs = range.as_secs().min(MAX_RANGE_SECS) as i64;
        let step_secs =
            step.as_secs().saturating_add(u64::from(step.subsec_nanos() > 0)).clamp(1, MAX_RANGE_SECS) as i64;
        // `range / step + 1` times; the smallest step that gives at most `max_points`.
        let intervals = max_points.max(2) as i64 - 1;
        let widest = (range_secs + intervals - 1) / intervals;
        let step_secs = step_secs.max(widest).max(1);
        let start = end.checked_sub_signed(chrono::Duration::seconds(range_secs)).unwrap_or(end);
        Self { start, end, step_secs }
    }

    /// How many times the grid has.
    pub fn len(&self) -> usize {
        ((self.end - self.start).num_seconds().max(0) / self.step_secs) as usize + 1
    }

    /// Never: a grid has at least its start.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The grid's times, oldest first.
    pub fn times(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        (0..self.len() as i64).map(move |k| self.start + chrono::Duration::seconds(k * self.step_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default()
    }

    #[test]
    fn traffic_measures_come_from_rates_and_a_ratio_needs_traffic() {
        let rates = HostTraffic { logins_ok: 2.0, logins_failed: 1.0, deliveries_ok: 0.5, deliveries_failed: 0.5 };
        assert_eq!(HostMeasure::LoginsPerMinute.of_rates(&rates), Some(180.0));
        assert_eq!(HostMeasure::FailureRatio.of_rates(&rates), Some(0.375));
        assert_eq!(HostMeasure::FailureRatio.of_rates(&HostTraffic::default()), None);
        assert_eq!(HostMeasure::LoginsPerMinute.of_rates(&HostTraffic::default()), Some(0.0));
        assert_eq!(HostMeasure::SummedZScore.of_rates(&rates), None);
    }

    #[test]
    fn a_grid_ends_at_end_and_keeps_a_step_that_fits() {
        let grid = HistoryGrid::new(at(10_000), Duration::from_secs(600), Duration::from_secs(60), 500);
        assert_eq!((grid.start, grid.step_secs, grid.len()), (at(9_400), 60, 11));
        assert_eq!(grid.times().last(), Some(at(10_000)));
        assert_eq!(grid.times().next(), Some(at(9_400)));
    }

    #[test]
    fn a_grid_widens_its_step_to_stay_within_the_most_points() {
        let day = Duration::from_secs(86_400);
        let grid = HistoryGrid::new(at(200_000), day, Duration::from_secs(1), 500);
        assert!(grid.len() <= 500, "{} points", grid.len());
        assert_eq!(grid.step_secs, 174, "86400 s over 499 intervals, rounded up");
        // A step below a second, or none, is a second.
        assert_eq!(HistoryGrid::new(at(100), Duration::from_secs(10), Duration::ZERO, 500).step_secs, 1);
        let fraction = HistoryGrid::new(at(100), Duration::from_secs(10), Duration::from_millis(1500), 500);
        assert_eq!(fraction.step_secs, 2);
        // No range: the one time `end`.
        let point = HistoryGrid::new(at(100), Duration::ZERO, Duration::from_secs(60), 500);
        assert_eq!(point.times().collect::<Vec<_>>(), [at(100)]);
        // A range past the cap is cut, not overflowed.
        let huge = HistoryGrid::new(at(100), Duration::MAX, Duration::MAX, 500);
        assert!(huge.len() <= 500);
    }
}
