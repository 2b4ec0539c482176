//! The metric history the embedded metrics adapter reads: traffic totals over time and
//! Z-score samples, computed as Prometheus' recording rules would. `series` answers the
//! history charts from it.

mod series;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    time::Duration,
};

use chrono::{DateTime, Utc};
use domain::metrics::HostTraffic;

use super::{
    world::{Resources, DELIVERY_FAILED, DELIVERY_OK, LOGIN_FAILED, LOGIN_OK},
    Simulator, World,
};

/// Z-score samples over time, keyed by (site, host, resource).
type ScoreSeries = BTreeMap<(String, String, &'static str), VecDeque<(DateTime<Utc>, f64)>>;

/// How long the per-tick traffic totals are kept: `host_traffic` reads windows of minutes, a
/// replay the windows of the last hour at the passes' own times (older ones from the minute
/// totals).
const TICKS_KEPT: chrono::TimeDelta = chrono::TimeDelta::minutes(60);
/// How long the Z-scores and the minute totals are kept: the longest chart is a day.
const DAY: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How often a row of the minute totals is kept.
const MINUTE: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// What the embedded metrics adapter reads: cumulative traffic per `dest_host` over time (at
/// every tick for the last minutes, once a minute for a day), and Z-score samples per (site,
/// host, resource).
#[derive(Default)]
pub(super) struct History {
    traffic: VecDeque<(DateTime<Utc>, BTreeMap<String, HostTraffic>)>,
    minutes: MinuteTotals,
    scores: ScoreSeries,
    last_score_at: Option<DateTime<Utc>>,
}

/// Cumulative traffic per `dest_host` once a minute for a [`DAY`], for the history charts.
/// Hosts are numbered, so a row costs 32 bytes per host (1,440 rows: 46 KiB per host).
#[derive(Default)]
struct MinuteTotals {
    hosts: Vec<String>,
    index: HashMap<String, usize>,
    /// Oldest first; a row's totals by host number, shorter when later hosts were not seen yet.
    rows: VecDeque<(DateTime<Utc>, Vec<HostTraffic>)>,
}

impl MinuteTotals {
    /// Keeps `totals` as the row of `now` if the last row is a minute old, and drops the rows
    /// older than a day.
    fn record(&mut self, now: DateTime<Utc>, totals: &BTreeMap<String, HostTraffic>) {
        if self.rows.back().is_some_and(|(t, _)| now - *t < MINUTE) {
            return;
        }
        let mut row = vec![HostTraffic::default(); self.hosts.len()];
        for (host, counts) in totals {
            let n = *self.index.entry(host.clone()).or_insert_with(|| {
                self.hosts.push(host.clone());
                self.hosts.len() - 1
            });
            if n >= row.len() {
                row.resize(n + 1, HostTraffic::default());
            }
            row[n] = *counts;
        }
        self.rows.push_back((now, row));
        while self.rows.front().is_some_and(|(t, _)| now - *t > DAY) {
            self.rows.pop_front();
        }
    }

    /// Traffic over the `window` up to `at`, to the minute; `None` before the first row.
    fn between(&self, window: Duration, at: DateTime<Utc>) -> Option<BTreeMap<String, HostTraffic>> {
        let by_host = |row: &Vec<HostTraffic>| -> BTreeMap<String, HostTraffic> {
            row.iter().enumerate().filter_map(|(n, t)| self.hosts.get(n).map(|h| (h.clone(), *t))).collect()
        };
        let latest = self.rows.iter().rev().find(|(t, _)| *t <= at).map(|(_, row)| by_host(row))?;
        let since = at - chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::minutes(5));
        let base = self.rows.iter().find(|(t, _)| *t >= since).map(|(_, row)| by_host(row));
        let started_in_window = self.rows.front().is_some_and(|(t, _)| *t >= since);
        Some(difference(&latest, if started_in_window { None } else { base.as_ref() }))
    }
}

impl Simulator {
    /// Traffic per `dest_host` summed over all proxies, cumulative since start.
    fn traffic_totals(world: &World) -> BTreeMap<String, HostTraffic> {
        let mut totals: BTreeMap<String, HostTraffic> = BTreeMap::new();
        for proxy in &world.proxies {
            for (metric, series) in &proxy.counters.metrics {
                for (host, count) in series {
                    let t = totals.entry(host.clone()).or_default();
                    let n = count.count as f64;
                    match *metric {
                        LOGIN_OK => t.logins_ok += n,
                        LOGIN_FAILED => t.logins_failed += n,
                        DELIVERY_OK => t.deliveries_ok += n,
                        DELIVERY_FAILED => t.deliveries_failed += n,
                        _ => {}
                    }
                }
            }
        }
        totals
    }

    pub(super) fn record_history(&self) {
        let now = self.clock.now();
        let interval =
            chrono::Duration::from_std(self.settings.score_interval).unwrap_or_else(|_| chrono::Duration::seconds(15));
        let mut world = self.world();
        let totals = Self::traffic_totals(&world);
        world.history.minutes.record(now, &totals);
        world.history.traffic.push_back((now, totals));
        while world.history.traffic.front().is_some_and(|(t, _)| now - *t > TICKS_KEPT) {
            world.history.traffic.pop_front();
        }
        if world.history.last_score_at.is_some_and(|t| now - t < interval) {
            return;
        }
        world.history.last_score_at = Some(now);
        let mut by_site: BTreeMap<String, Vec<(String, Resources)>> = BTreeMap::new();
        for b in world.backends.values() {
            by_site.entry(b.site_name.clone()).or_default().push((b.row.host.clone(), b.resources()));
        }
        for (site, hosts) in by_site {
            for resource in domain::metrics::SCORED_RESOURCES {
                let values: Vec<f64> = hosts.iter().map(|(_, r)| resource_value(r, resource)).collect();
                for ((host, _), z) in hosts.iter().zip(z_scores(&values)) {
                    let Some(z) = z else { continue };
                    let series = world.history.scores.entry((site.clone(), host.clone(), resource)).or_default();
                    series.push_back((now, z));
                    while series.front().is_some_and(|(t, _)| now - *t > DAY) {
                        series.pop_front();
                    }
                }
            }
        }
    }

    /// Traffic per `dest_host` over the last `window`, from the recorded history.
    pub fn traffic_over(&self, window: Duration) -> BTreeMap<String, HostTraffic> {
        let world = self.world();
        let Some((now, _)) = world.history.traffic.back() else { return BTreeMap::new() };
        Self::traffic_between(&world.history, window, *now).unwrap_or_default()
    }

    /// Traffic per `dest_host` over the `window` up to `at`, as [`Simulator::traffic_over`]
    /// answered then; `None` when the history does not reach back to `at`.
    pub fn traffic_at(&self, window: Duration, at: DateTime<Utc>) -> Option<BTreeMap<String, HostTraffic>> {
        Self::traffic_between(&self.world().history, window, at)
    }

    fn traffic_between(
        history: &History,
        window: Duration,
        at: DateTime<Utc>,
    ) -> Option<BTreeMap<String, HostTraffic>> {
        let ticks = &history.traffic;
        if ticks.front().is_none_or(|(t, _)| *t > at) {
            return history.minutes.between(window, at);
        }
        let latest = ticks.iter().rev().find(|(t, _)| *t <= at).map(|(_, totals)| totals)?;
        let since = at - chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::minutes(5));
        let base = ticks.iter().find(|(t, _)| *t >= since).map(|(_, totals)| totals);
        let started_in_window = ticks.front().is_some_and(|(t, _)| *t >= since);
        Some(difference(latest, if started_in_window { None } else { base }))
    }

    /// Z-score samples of one site: per (host, resource), the average over `window` and the count over 24 h.
    pub fn scores(&self, site: &str, window: Duration) -> Vec<(String, &'static str, f64, u64)> {
        self.scores_at(site, window, self.clock.now())
    }

    /// [`Simulator::scores`] as answered at `at`.
    pub fn scores_at(&self, site: &str, window: Duration, at: DateTime<Utc>) -> Vec<(String, &'static str, f64, u64)> {
        let world = self.world();
        let since = at - chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::hours(1));
        world
            .history
            .scores
            .iter()
            .filter(|((s, _, _), _)| s == site)
            .filter_map(|((_, host, resource), samples)| {
                let recent: Vec<f64> =
                    samples.iter().filter(|(t, _)| *t >= since && *t <= at).map(|(_, z)| *z).collect();
                let day = samples.iter().filter(|(t, _)| *t <= at && at - *t <= DAY).count() as u64;
                (!recent.is_empty())
                    .then(|| (host.clone(), *resource, recent.iter().sum::<f64>() / recent.len() as f64, day))
            })
            .collect()
    }
}

/// Traffic from `before` (everything since start when `None`) to `latest`, per host.
fn difference(
    latest: &BTreeMap<String, HostTraffic>,
    before: Option<&BTreeMap<String, HostTraffic>>,
) -> BTreeMap<String, HostTraffic> {
    latest
        .iter()
        .map(|(host, now)| {
            let was = before.and_then(|b| b.get(host)).copied().unwrap_or_default();
            (
                host.clone(),
                HostTraffic {
                    logins_ok: now.logins_ok - was.logins_ok,
                    logins_failed: now.logins_failed - was.logins_failed,
                    deliveries_ok: now.deliveries_ok - was.deliveries_ok,
                    deliveries_failed: now.deliveries_failed - was.deliveries_failed,
                },
            )
        })
        .collect()
}

fn resource_value(r: &Resources, resource: &str) -> f64 {
    match resource {
        "cpu" => r.cpu,
        "memused" => r.memused,
        _ => r.metacache,
    }
}

/// Z-scores as the recording rules compute them: population standard deviation; none when it is 0.
pub fn z_scores(values: &[f64]) -> Vec<Option<f64>> {
    if values.is_empty() {
        return Vec::new();
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    values.iter().map(|v| (sd > 1e-12).then(|| (v - mean) / sd)).collect()
}
