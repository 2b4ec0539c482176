//! The host measures over time, as range queries on the times of a [`HistoryGrid`]: the
//! traffic measures from the counters' rates over [`HISTORY_RATE_WINDOW`] per `dest_host`,
//! and the recorded Z-scores summed per `host`.
//!
//! Each counter has a query of its own, combined here per host and time: a host that has
//! never failed has no failure series, and `a + b` in PromQL would drop it (here a missing
//! side counts 0, as in `host_traffic`); and one selector matching several metric names
//! (`__name__=~…`) would give series with equal labels once `rate` drops the name, which
//! Prometheus refuses.

use std::collections::BTreeMap;

use domain::metrics::{HistoryGrid, HostMeasure, HostSeries, HostTraffic, HISTORY_RATE_WINDOW};

use chrono::{DateTime, Utc};
use palomar_core::ports::{MetricsError, MAX_HISTORY_POINTS};

use super::{escape, Counter, LabelledSeries, PrometheusMetrics, TRAFFIC_COUNTERS};

/// Rates per second of one host's counters at each time.
type RatesByTime = BTreeMap<DateTime<Utc>, HostTraffic>;

impl PrometheusMetrics {
    /// `measure` per host on the grid over `range` up to `end` every `step` (widened to at
    /// most [`MAX_HISTORY_POINTS`] times), hosts in name order, none without a point.
    pub(super) async fn history(
        &self,
        site: &str,
        measure: HostMeasure,
        end: DateTime<Utc>,
        range: std::time::Duration,
        step: std::time::Duration,
    ) -> Result<Vec<HostSeries>, MetricsError> {
        let grid = HistoryGrid::new(end, range, step, MAX_HISTORY_POINTS);
        let series = match measure {
            HostMeasure::LoginsPerMinute => {
                self.traffic_history(measure, &grid, &[Counter::LoginOk, Counter::LoginFailed]).await?
            }
            HostMeasure::FailureRatio => self.traffic_history(measure, &grid, &TRAFFIC_COUNTERS).await?,
            HostMeasure::SummedZScore => {
                let query = format!(
                    "sum by (host) (dovecot_cluster:host:zscore{{site=\"{}\"{}}})",
                    escape(site),
                    self.job_matcher()
                );
                by_label(self.matrix(&query, &grid).await?, "host")
            }
        };
        Ok(series)
    }

    /// A traffic measure from the rates of `counters`, queried at once.
    async fn traffic_history(
        &self,
        measure: HostMeasure,
        grid: &HistoryGrid,
        counters: &[Counter],
    ) -> Result<Vec<HostSeries>, MetricsError> {
        let window = HISTORY_RATE_WINDOW.as_secs();
        let job = self.job_matcher();
        let queries = counters.iter().map(|counter| {
            let query = format!(
                "sum by (dest_host) (rate(dovecot_{}_total{{dest_host!=\"\"{job}}}[{window}s]))",
                counter.name()
            );
            async move { Ok::<_, MetricsError>((*counter, self.matrix(&query, grid).await?)) }
        });
        let answers = futures::future::try_join_all(queries).await?;
        Ok(traffic_series(measure, answers))
    }
}

/// Combines each counter's rate series per `dest_host` and time, then computes `measure` at
/// each time (no point where it has none, such as a failure ratio without traffic).
fn traffic_series(measure: HostMeasure, answers: Vec<(Counter, Vec<LabelledSeries>)>) -> Vec<HostSeries> {
    let mut rates: BTreeMap<String, RatesByTime> = BTreeMap::new();
    for (counter, series) in answers {
        for (labels, points) in series {
            let Some(host) = labels.get("dest_host") else { continue };
            let by_time = rates.entry(host.clone()).or_default();
            for (at, value) in points {
                counter.set(by_time.entry(at).or_default(), value);
            }
        }
    }
    let series = rates.into_iter().map(|(host, by_time)| {
        let points = by_time.into_iter().filter_map(|(at, r)| Some((at, measure.of_rates(&r)?))).collect();
        HostSeries { host, points }
    });
    bounded(series)
}

/// One series per value of `label` (a series without it is not a host's).
fn by_label(answer: Vec<LabelledSeries>, label: &str) -> Vec<HostSeries> {
    let hosts: BTreeMap<String, Vec<(DateTime<Utc>, f64)>> =
        answer.into_iter().filter_map(|(labels, points)| Some((labels.get(label)?.clone(), points))).collect();
    bounded(hosts.into_iter().map(|(host, points)| HostSeries { host, points }))
}

/// Leaves out hosts without points, and keeps the newest [`MAX_HISTORY_POINTS`] of each: the
/// grid asks for no more, but a server may answer with anything.
fn bounded(series: impl Iterator<Item = HostSeries>) -> Vec<HostSeries> {
    series
        .filter(|s| !s.points.is_empty())
        .map(|mut s| {
            let extra = s.points.len().saturating_sub(MAX_HISTORY_POINTS);
            s.points.drain(..extra);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn series(host: &str, points: &[(i64, f64)]) -> LabelledSeries {
        let labels = BTreeMap::from([("dest_host".to_string(), host.to_string())]);
        (labels, points.iter().map(|(t, v)| (at(*t), *v)).collect())
    }

    #[test]
    fn counters_are_combined_per_host_and_time_with_a_missing_side_as_zero() {
        let answers = vec![
            (Counter::LoginOk, vec![series("be1", &[(60, 2.0), (120, 3.0)]), series("be2", &[(60, 1.0)])]),
            // be2 never failed: no series at all; be1 failed only at the second time.
            (Counter::LoginFailed, vec![series("be1", &[(120, 1.0)])]),
        ];
        let logins = traffic_series(HostMeasure::LoginsPerMinute, answers);
        assert_eq!(
            logins,
            [
                HostSeries { host: "be1".into(), points: vec![(at(60), 120.0), (at(120), 240.0)] },
                HostSeries { host: "be2".into(), points: vec![(at(60), 60.0)] },
            ]
        );
    }

    #[test]
    fn a_failure_ratio_has_no_point_without_traffic_and_a_host_without_points_is_left_out() {
        let answers = vec![
            (Counter::LoginOk, vec![series("be1", &[(60, 0.0), (120, 3.0)]), series("idle", &[(60, 0.0)])]),
            (Counter::LoginFailed, vec![series("be1", &[(60, 0.0), (120, 1.0)])]),
            (Counter::DeliveryOk, vec![series("be1", &[(120, 0.5)])]),
            (Counter::DeliveryFailed, vec![series("be1", &[(120, 0.5)])]),
        ];
        let ratios = traffic_series(HostMeasure::FailureRatio, answers);
        assert_eq!(ratios, [HostSeries { host: "be1".into(), points: vec![(at(120), 0.3)] }]);
    }

    #[test]
    fn z_scores_are_keyed_by_host_and_series_without_it_are_dropped() {
        let with_host = (BTreeMap::from([("host".to_string(), "be2".to_string())]), vec![(at(1), 1.5)]);
        let without = (BTreeMap::new(), vec![(at(1), 9.0)]);
        let series = by_label(vec![with_host, without], "host");
        assert_eq!(series, [HostSeries { host: "be2".into(), points: vec![(at(1), 1.5)] }]);
    }

    #[test]
    fn at_most_the_newest_points_are_kept() {
        let many: Vec<(DateTime<Utc>, f64)> = (0..MAX_HISTORY_POINTS as i64 + 3).map(|t| (at(t), t as f64)).collect();
        let kept = bounded(std::iter::once(HostSeries { host: "be1".into(), points: many }));
        assert_eq!(kept[0].points.len(), MAX_HISTORY_POINTS);
        assert_eq!(kept[0].points[0], (at(3), 3.0));
    }
}
