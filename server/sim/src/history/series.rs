//! The host measures over time from the simulator's history, on the times of a
//! [`HistoryGrid`], as the Prometheus adapter's range queries give them: traffic as rates over
//! [`HISTORY_RATE_WINDOW`] from the first and last totals within the window before each time,
//! Z-scores as the latest sample of each resource within 5 minutes (Prometheus' lookback),
//! summed per host.

use std::collections::BTreeMap;

use domain::metrics::{HistoryGrid, HostMeasure, HostSeries, HostTraffic, HISTORY_RATE_WINDOW};

use chrono::{DateTime, Utc};
use palomar_core::ports::MAX_HISTORY_POINTS;

use super::{History, MinuteTotals};
use crate::Simulator;

/// How far back an instant value is looked for (Prometheus' default lookback delta).
const LOOKBACK: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Totals of every host at one time: a minute row, or a tick's.
#[derive(Clone, Copy)]
enum Totals<'a> {
    Minute(&'a MinuteTotals, &'a [HostTraffic]),
    Tick(&'a BTreeMap<String, HostTraffic>),
}

impl Totals<'_> {
    fn of(&self, host: &str) -> Option<HostTraffic> {
        match self {
            Self::Minute(minutes, row) => minutes.index.get(host).and_then(|n| row.get(*n)).copied(),
            Self::Tick(totals) => totals.get(host).copied(),
        }
    }
}

impl Simulator {
    /// `measure` per host on the grid over `range` up to `end` every `step` (widened to at
    /// most [`MAX_HISTORY_POINTS`] times), hosts in name order, none without a point. Traffic
    /// is every `dest_host`'s; Z-scores are `site`'s hosts'.
    pub fn host_history(
        &self,
        site: &str,
        measure: HostMeasure,
        end: DateTime<Utc>,
        range: std::time::Duration,
        step: std::time::Duration,
    ) -> Vec<HostSeries> {
        let grid = HistoryGrid::new(end, range, step, MAX_HISTORY_POINTS);
        let world = self.world();
        let series = match measure {
            HostMeasure::SummedZScore => summed_scores(&world.history, site, &grid),
            _ => traffic(&world.history, measure, &grid),
        };
        series
            .into_iter()
            .filter(|(_, points)| !points.is_empty())
            .map(|(host, points)| HostSeries { host, points })
            .collect()
    }
}

/// The traffic totals oldest first: the minute rows from before the first tick kept, then
/// every tick's.
fn timeline(history: &History) -> Vec<(DateTime<Utc>, Totals<'_>)> {
    let first_tick = history.traffic.front().map(|(t, _)| *t);
    let minutes = history
        .minutes
        .rows
        .iter()
        .filter(|(t, _)| first_tick.is_none_or(|first| *t < first))
        .map(|(t, row)| (*t, Totals::Minute(&history.minutes, row)));
    let ticks = history.traffic.iter().map(|(t, totals)| (*t, Totals::Tick(totals)));
    minutes.chain(ticks).collect()
}

/// A traffic measure per host: at each time, the rates between the first and the last totals
/// within the window before it (no point with fewer than two). A window reaching back before
/// the first record holds everything since the simulator started (its counters start at 0),
/// spread over the whole window, as Prometheus reads a counter born inside its range.
fn traffic(history: &History, measure: HostMeasure, grid: &HistoryGrid) -> BTreeMap<String, Vec<(DateTime<Utc>, f64)>> {
    let timeline = timeline(history);
    let window = chrono::TimeDelta::from_std(HISTORY_RATE_WINDOW).unwrap_or(LOOKBACK);
    let mut hosts: BTreeMap<String, Vec<(DateTime<Utc>, f64)>> = history
        .minutes
        .hosts
        .iter()
        .chain(history.traffic.back().into_iter().flat_map(|(_, totals)| totals.keys()))
        .map(|host| (host.clone(), Vec::new()))
        .collect();
    let Some((first_record, _)) = timeline.first().copied() else { return hosts };
    for at in grid.times() {
        let last = timeline.partition_point(|(t, _)| *t <= at);
        let (before, seconds) = if first_record > at - window {
            (None, window.num_milliseconds() as f64 / 1000.0)
        } else {
            let first = timeline.partition_point(|(t, _)| *t < at - window);
            let Some((t0, before)) = timeline.get(first).copied() else { continue };
            (Some(before), (timeline[last.max(1) - 1].0 - t0).num_milliseconds() as f64 / 1000.0)
        };
        if last < 2 || seconds <= 0.0 {
            continue;
        }
        let after = timeline[last - 1].1;
        for (host, points) in hosts.iter_mut() {
            let Some(v1) = after.of(host) else { continue };
            let v0 = match before {
                Some(before) => match before.of(host) {
                    Some(v0) => v0,
                    None => continue,
                },
                None => HostTraffic::default(),
            };
            if let Some(value) = measure.of_rates(&rates(v0, v1, seconds)) {
                points.push((at, value));
            }
        }
    }
    hosts
}

/// Rates per second from totals `v0` to `v1` over `seconds`; a total that went down counts
/// from 0, as Prometheus reads a counter that was reset.
fn rates(v0: HostTraffic, v1: HostTraffic, seconds: f64) -> HostTraffic {
    let rate = |a: f64, b: f64| if b >= a { (b - a) / seconds } else { b / seconds };
    HostTraffic {
        logins_ok: rate(v0.logins_ok, v1.logins_ok),
        logins_failed: rate(v0.logins_failed, v1.logins_failed),
        deliveries_ok: rate(v0.deliveries_ok, v1.deliveries_ok),
        deliveries_failed: rate(v0.deliveries_failed, v1.deliveries_failed),
    }
}

/// Per host of `site`: at each time, the latest sample of each resource within the lookback,
/// summed (no point when no resource has one).
fn summed_scores(history: &History, site: &str, grid: &HistoryGrid) -> BTreeMap<String, Vec<(DateTime<Utc>, f64)>> {
    let mut hosts: BTreeMap<String, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
    let mut resources_by_host: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for ((s, host, _), samples) in &history.scores {
        if s == site {
            resources_by_host.entry(host.as_str()).or_default().push(samples);
        }
    }
    for (host, resources) in resources_by_host {
        let points = hosts.entry(host.to_string()).or_default();
        for at in grid.times() {
            let latest = resources.iter().filter_map(|samples| {
                let last = samples.partition_point(|(t, _)| *t <= at);
                let (t, z) = samples.get(last.checked_sub(1)?)?;
                (at - *t <= LOOKBACK).then_some(*z)
            });
            let (sum, count) = latest.fold((0.0, 0), |(sum, n), z| (sum + z, n + 1));
            if count > 0 {
                points.push((at, sum));
            }
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn logins(n: f64) -> BTreeMap<String, HostTraffic> {
        BTreeMap::from([("be1".to_string(), HostTraffic { logins_ok: n, ..HostTraffic::default() })])
    }

    fn grid(end: i64, range: u64, step: u64) -> HistoryGrid {
        HistoryGrid::new(at(end), std::time::Duration::from_secs(range), std::time::Duration::from_secs(step), 500)
    }

    #[test]
    fn logins_are_rates_from_minute_rows_and_ticks_alike() {
        let mut history = History::default();
        // Ten minutes of minute rows at 60 logins a minute, then ticks every 10 s at the same pace.
        for m in 0..10 {
            history.minutes.record(at(m * 60), &logins(m as f64 * 60.0));
        }
        for s in (600..=700).step_by(10) {
            history.traffic.push_back((at(s), logins(s as f64)));
        }
        let series = traffic(&history, HostMeasure::LoginsPerMinute, &grid(700, 700, 100));
        let points: Vec<(i64, f64)> = series["be1"].iter().map(|(t, v)| ((*t - at(0)).num_seconds(), *v)).collect();
        // None at 0 (one total only); while the window reaches back before the first total,
        // what came since spread over the window (60 and 180 logins over 5 minutes); then 60
        // a minute.
        let expected = [(100, 12.0), (200, 36.0), (300, 60.0), (400, 60.0), (500, 60.0), (600, 60.0), (700, 60.0)];
        assert_eq!(points.len(), expected.len(), "{points:?}");
        for ((t, v), (want_t, want_v)) in points.iter().zip(expected) {
            assert!(*t == want_t && (v - want_v).abs() < 1e-9, "{points:?}");
        }
    }

    #[test]
    fn a_failure_ratio_needs_traffic_in_the_window() {
        let mut history = History::default();
        let counts = |ok: f64, failed: f64| {
            BTreeMap::from([(
                "be1".to_string(),
                HostTraffic { logins_ok: ok, logins_failed: failed, ..HostTraffic::default() },
            )])
        };
        history.traffic.extend([(at(0), counts(0.0, 0.0)), (at(10), counts(3.0, 1.0)), (at(400), counts(3.0, 1.0))]);
        let series = traffic(&history, HostMeasure::FailureRatio, &grid(400, 400, 10));
        // From 310 s on, the window holds one total or none that changed.
        assert_eq!(series["be1"].len(), 30, "{:?}", series["be1"]);
        assert!(series["be1"].iter().all(|(t, ratio)| *t >= at(10) && *t <= at(300) && (ratio - 0.25).abs() < 1e-9));
    }

    #[test]
    fn z_scores_are_summed_per_host_of_the_site_within_the_lookback() {
        let mut history = History::default();
        let samples = |points: &[(i64, f64)]| points.iter().map(|(t, z)| (at(*t), *z)).collect::<VecDeque<_>>();
        history.scores.insert(("s1".into(), "be1".into(), "cpu"), samples(&[(0, 1.0), (60, 2.0)]));
        history.scores.insert(("s1".into(), "be1".into(), "memused"), samples(&[(0, 0.5)]));
        history.scores.insert(("s2".into(), "be9".into(), "cpu"), samples(&[(0, 7.0)]));
        let series = summed_scores(&history, "s1", &grid(600, 600, 60));
        assert_eq!(series.keys().collect::<Vec<_>>(), ["be1"]);
        let points = &series["be1"];
        assert_eq!(points[0], (at(0), 1.5));
        assert_eq!(points[1], (at(60), 2.5));
        // Past 5 minutes only the newer cpu sample is recent enough, then nothing.
        assert_eq!(points.last(), Some(&(at(360), 2.0)));
        assert_eq!(points.len(), 7);
    }
}
