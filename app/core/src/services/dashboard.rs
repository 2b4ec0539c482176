//! The cluster overview, a site's dashboard and its history charts: any role. Reads only,
//! through the ports; where a source fails, the page still shows the rest and says why.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, DurationRound, Utc};
use uuid::Uuid;

use super::fresh::{ForceMoves, Reachabilities, SiteBackends, Sites};
use crate::{
    controller::{Census, Controller},
    ports::{Clock, LeaderLease, Metrics, RecordStore, MAX_HISTORY_BACKENDS},
};
use domain::{
    dashboard::{alerts, AlertInputs, BackendHealth, ChartData, ChartKind, SiteDashboard, SiteSummary},
    geodb::{Backend, BackendStatus},
    metrics::{HostMeasure, HostSeries, HostTraffic, SCORED_RESOURCES},
    AppError, PageRequest, Site,
};

/// Lines a chart shows at most: more are unreadable. The hosts with the highest values win.
const LINES_PER_CHART: usize = 8;
/// The sites the overview covers at most.
const MAX_SITES: usize = 200;
/// Decisions the dashboard lists.
const LATEST_DECISIONS: u32 = 10;
/// Moves read at most for the moves-per-hour chart.
const MAX_MOVES_READ: usize = 2_000;

/// The reader behind the overview and the dashboards.
pub struct DashboardReader {
    pub(crate) records: Arc<dyn RecordStore>,
    pub(crate) metrics: Arc<dyn Metrics>,
    pub(crate) lease: Arc<dyn LeaderLease>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) census: Arc<Census>,
    pub(crate) controller: Arc<Controller>,
    pub(crate) sites: Arc<Sites>,
    pub(crate) reachability: Arc<Reachabilities>,
    pub(crate) backends: Arc<SiteBackends>,
    pub(crate) force_moves: Arc<ForceMoves>,
    pub(crate) census_interval: Duration,
}

/// What one read of the metrics gave for a site's backends.
struct Health {
    backends: Vec<BackendHealth>,
    metrics_error: Option<String>,
    any_traffic: bool,
}

impl DashboardReader {
    /// Every site with its backends, moves, leader and alerts.
    pub async fn overview(&self) -> Result<Vec<SiteSummary>, AppError> {
        let sites = self.sites.all().await?;
        let traffic = self.traffic().await;
        let summaries = sites.iter().take(MAX_SITES).map(|site| self.summary(site, &traffic));
        futures::future::try_join_all(summaries).await
    }

    async fn summary(
        &self,
        site: &Site,
        traffic: &Result<BTreeMap<String, HostTraffic>, String>,
    ) -> Result<SiteSummary, AppError> {
        let (backends, moves, leader) = futures::join!(
            self.backends.of(site.id),
            self.records.list_active_moves(site.id),
            self.lease.current(&site.name)
        );
        let backends = backends?;
        let health = self.health(site, &backends, traffic, &BTreeMap::new());
        let leader = leader.ok().map(|l| l.map(|l| l.holder));
        let (reached_from, failover_to) = self.site_links(site).await;
        let unreachable_from: Vec<String> =
            reached_from.iter().filter(|(_, reachable)| !reachable).map(|(name, _)| name.clone()).collect();
        Ok(SiteSummary {
            id: site.id,
            name: site.name.clone(),
            status: site.status.clone(),
            backends: backends.len(),
            online: backends.iter().filter(|b| b.status == BackendStatus::Online).count(),
            active_moves: moves.map(|m| m.len()).unwrap_or(0),
            leader: leader.clone().flatten(),
            alerts: self.alerts_of(site, &unreachable_from, &health, leader).await,
            reached_from,
            failover_to,
        })
    }

    /// Which other sites' proxies reach `site` (by name, from `site_reachability`), and which
    /// sites could take its users now: online and reached from it. Nothing when the rows cannot
    /// be read: the other alerts still show.
    async fn site_links(&self, site: &Site) -> (Vec<(String, bool)>, Vec<String>) {
        let (Ok(rows), Ok(sites)) = futures::join!(self.reachability.all(), self.sites.all()) else {
            return (Vec::new(), Vec::new());
        };
        let name = |id: Uuid| sites.iter().find(|s| s.id == id).map_or_else(|| id.to_string(), |s| s.name.clone());
        let reached_from = rows
            .iter()
            .filter(|r| r.dest_site_id == site.id && r.src_site_id != site.id)
            .map(|r| (name(r.src_site_id), r.reachable != 0))
            .collect();
        let failover_to = sites
            .iter()
            .filter(|other| other.id != site.id)
            .filter(|other| domain::routing::site_trouble(Some(other), site.id, &rows).is_none())
            .map(|other| other.name.clone())
            .collect();
        (reached_from, failover_to)
    }

    /// One site's dashboard.
    pub async fn site(&self, site_id: Uuid) -> Result<SiteDashboard, AppError> {
        let site = super::recent_site(&self.sites, site_id).await?;
        let settings = self.controller.settings();
        let (backends, traffic, scores, moves, leader, decisions) = futures::join!(
            self.backends.of(site_id),
            self.traffic(),
            self.metrics.host_scores(&site.name, settings.score_window),
            self.records.list_active_moves(site_id),
            self.lease.current(&site.name),
            self.records.list_decisions(site_id, self.clock.now().date_naive(), PageRequest::first(LATEST_DECISIONS)),
        );
        let backends = backends?;
        let mut summed: BTreeMap<String, f64> = BTreeMap::new();
        for score in scores.unwrap_or_default().iter().filter(|s| SCORED_RESOURCES.contains(&s.score.as_str())) {
            *summed.entry(score.host.clone()).or_default() += score.average;
        }
        let health = self.health(&site, &backends, &traffic, &summed);
        let leader = leader.ok().map(|l| l.map(|l| l.holder));
        let (reached_from, _) = self.site_links(&site).await;
        let unreachable_from: Vec<String> =
            reached_from.into_iter().filter(|(_, reachable)| !reachable).map(|(name, _)| name).collect();
        let alerts = self.alerts_of(&site, &unreachable_from, &health, leader.clone()).await;
        let mut rows = health.backends;
        rows.sort_by(|a, b| attention(b).total_cmp(&attention(a)).then_with(|| a.host.cmp(&b.host)));
        Ok(SiteDashboard {
            site_id,
            site_name: site.name,
            site_status: site.status,
            backends: rows,
            active_moves: moves?,
            leader: leader.flatten(),
            decisions: decisions.map(|p| p.items).unwrap_or_default(),
            alerts,
            census_at: self.census.latest().taken_at,
        })
    }

    /// One history chart's data.
    pub async fn chart(&self, site_id: Uuid, kind: ChartKind) -> Result<ChartData, AppError> {
        let site = super::recent_site(&self.sites, site_id).await?;
        let now = self.clock.now();
        match kind {
            ChartKind::FailureRatio => self.host_chart(&site, kind, HostMeasure::FailureRatio, now).await,
            ChartKind::Logins => self.host_chart(&site, kind, HostMeasure::LoginsPerMinute, now).await,
            ChartKind::SummedZScore => self.host_chart(&site, kind, HostMeasure::SummedZScore, now).await,
            ChartKind::UsersPerBackend => self.users_chart(&site, now).await,
            ChartKind::MovesPerHour => self.moves_chart(&site, now).await,
        }
    }

    async fn traffic(&self) -> Result<BTreeMap<String, HostTraffic>, String> {
        let window = self.controller.settings().host_failure.window;
        self.metrics.host_traffic(window).await.map_err(|e| e.to_string())
    }

    fn health(
        &self,
        site: &Site,
        backends: &[Backend],
        traffic: &Result<BTreeMap<String, HostTraffic>, String>,
        summed: &BTreeMap<String, f64>,
    ) -> Health {
        let census = self.census.latest();
        let counted = census.taken_at.is_some();
        let hosts: Vec<&str> = backends.iter().map(|b| b.host.as_str()).collect();
        let probes = self.controller.reachable(&site.name, &hosts);
        let seen = traffic.as_ref().ok();
        let rows: Vec<BackendHealth> = backends
            .iter()
            .zip(probes)
            .map(|(b, reachable)| BackendHealth {
                id: b.id,
                host: b.host.clone(),
                status: b.status.clone(),
                load_factor: b.load_factor,
                failure_ratio: seen.and_then(|t| t.get(&b.host)).and_then(HostTraffic::failure_ratio),
                summed_zscore: summed.get(&b.host).copied(),
                users: counted.then(|| census.users_per_backend.get(&b.id).copied().unwrap_or(0)),
                groups: counted.then(|| census.groups_per_backend.get(&b.id).copied().unwrap_or(0)),
                reachable,
            })
            .collect();
        let any_traffic = seen.is_some_and(|t| {
            backends
                .iter()
                .any(|b| t.get(&b.host).is_some_and(|h| h.logins() + h.deliveries_ok + h.deliveries_failed > 0.0))
        });
        Health { backends: rows, metrics_error: traffic.as_ref().err().cloned(), any_traffic }
    }

    async fn alerts_of(
        &self,
        site: &Site,
        unreachable_from: &[String],
        health: &Health,
        leader: Option<Option<String>>,
    ) -> Vec<domain::dashboard::Alert> {
        // Force-moves are extra information: without them the other alerts still show.
        let force_moves = super::ForceMoveReader {
            census: self.census.clone(),
            sites: self.sites.clone(),
            backends: self.backends.clone(),
            force_moves: self.force_moves.clone(),
        }
        .of_site(site.id)
        .await
        .unwrap_or_default();
        alerts(&AlertInputs {
            site_status: &site.status,
            unreachable_from,
            force_moves: &force_moves,
            backends: &health.backends,
            failure_ratio_limit: self.controller.settings().host_failure.ratio,
            census_at: self.census.latest().taken_at,
            census_interval: self.census_interval,
            metrics_error: health.metrics_error.clone(),
            any_traffic: health.any_traffic,
            leader,
            now: self.clock.now(),
        })
    }

    async fn host_chart(
        &self,
        site: &Site,
        kind: ChartKind,
        measure: HostMeasure,
        now: DateTime<Utc>,
    ) -> Result<ChartData, AppError> {
        const RANGE: Duration = Duration::from_secs(6 * 3600);
        const STEP: Duration = Duration::from_secs(300);
        let backends = self.backends.of(site.id).await?;
        let ours: BTreeSet<&str> = backends.iter().map(|b| b.host.as_str()).collect();
        match self.metrics.host_history(&site.name, measure, now, RANGE, STEP).await {
            Err(err) => Ok(ChartData { kind, times: Vec::new(), series: Vec::new(), error: Some(err.to_string()) }),
            Ok(series) => {
                let mine: Vec<HostSeries> = series.into_iter().filter(|s| ours.contains(s.host.as_str())).collect();
                Ok(on_shared_axis(kind, top_lines(mine)))
            }
        }
    }

    async fn users_chart(&self, site: &Site, now: DateTime<Utc>) -> Result<ChartData, AppError> {
        let backends = self.backends.of(site.id).await?;
        let census = self.census.latest();
        let mut ranked: Vec<&Backend> = backends.iter().collect();
        ranked.sort_by_key(|b| std::cmp::Reverse(census.users_per_backend.get(&b.id).copied().unwrap_or(0)));
        let chosen: Vec<&Backend> = ranked.into_iter().take(LINES_PER_CHART.min(MAX_HISTORY_BACKENDS)).collect();
        let ids: Vec<Uuid> = chosen.iter().map(|b| b.id).collect();
        let since = now - chrono::Duration::days(7);
        let history = match self.records.backend_users_history(site.id, &ids, since).await {
            Ok(history) => history,
            Err(err) => {
                let error = Some(err.to_string());
                return Ok(ChartData {
                    kind: ChartKind::UsersPerBackend,
                    times: Vec::new(),
                    series: Vec::new(),
                    error,
                });
            }
        };
        let series = chosen
            .iter()
            .filter_map(|b| {
                let points = history.get(&b.id)?;
                let points = points.iter().map(|(at, users)| (*at, *users as f64)).collect();
                Some(HostSeries { host: b.host.clone(), points })
            })
            .collect();
        Ok(on_shared_axis(ChartKind::UsersPerBackend, series))
    }

    async fn moves_chart(&self, site: &Site, now: DateTime<Utc>) -> Result<ChartData, AppError> {
        let first_hour = (now - chrono::Duration::hours(23)).duration_trunc(chrono::Duration::hours(1)).unwrap_or(now);
        let times: Vec<DateTime<Utc>> = (0..24).map(|h| first_hour + chrono::Duration::hours(h)).collect();
        let mut counts: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
        let mut cursor = None;
        let mut read = 0;
        'pages: loop {
            let page = self.records.list_moves(site.id, PageRequest::after(cursor, 100)).await?;
            for m in &page.items {
                read += 1;
                if m.created_at < first_hour {
                    break 'pages;
                }
                let hour = ((m.created_at - first_hour).num_hours().max(0) as usize).min(23);
                let name = format!("{} · {}", m.initiated_by.label(), m.state.as_str());
                let series = counts.entry(name).or_insert_with(|| vec![Some(0.0); 24]);
                if let Some(slot) = series.get_mut(hour) {
                    *slot = Some(slot.unwrap_or(0.0) + 1.0);
                }
            }
            match page.next {
                Some(next) if read < MAX_MOVES_READ => cursor = Some(next),
                _ => break,
            }
        }
        Ok(ChartData { kind: ChartKind::MovesPerHour, times, series: counts.into_iter().collect(), error: None })
    }
}

/// How much a backend needs an operator's eye: failing, offline or unreachable first, then
/// the most loaded.
fn attention(b: &BackendHealth) -> f64 {
    let trouble = (b.status == BackendStatus::Offline) as u8 as f64 * 1000.0
        + (b.reachable == Some(false)) as u8 as f64 * 1000.0
        + b.failure_ratio.unwrap_or(0.0) * 100.0;
    trouble + b.summed_zscore.unwrap_or(0.0)
}

/// The [`LINES_PER_CHART`] series with the highest peaks.
fn top_lines(mut series: Vec<HostSeries>) -> Vec<HostSeries> {
    let peak = |s: &HostSeries| s.points.iter().map(|(_, v)| *v).fold(f64::MIN, f64::max);
    series.sort_by(|a, b| peak(b).total_cmp(&peak(a)).then_with(|| a.host.cmp(&b.host)));
    series.truncate(LINES_PER_CHART);
    series.sort_by(|a, b| a.host.cmp(&b.host));
    series
}

/// Puts every series on one time axis: the union of their times, a gap where a series has
/// no value.
fn on_shared_axis(kind: ChartKind, series: Vec<HostSeries>) -> ChartData {
    let times: Vec<DateTime<Utc>> =
        series.iter().flat_map(|s| s.points.iter().map(|(t, _)| *t)).collect::<BTreeSet<_>>().into_iter().collect();
    let column: HashMap<DateTime<Utc>, usize> = times.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let series = series
        .into_iter()
        .map(|s| {
            let mut values = vec![None; times.len()];
            for (t, v) in s.points {
                if let Some(i) = column.get(&t) {
                    values[*i] = v.is_finite().then_some(v);
                }
            }
            (s.host, values)
        })
        .collect();
    ChartData { kind, times, series, error: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_share_one_axis_with_gaps() {
        let t = |m: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + m * 60, 0).unwrap();
        let a = HostSeries { host: "be1".into(), points: vec![(t(0), 1.0), (t(5), 2.0)] };
        let b = HostSeries { host: "be2".into(), points: vec![(t(5), 3.0), (t(10), f64::NAN)] };
        let data = on_shared_axis(ChartKind::Logins, vec![a, b]);
        assert_eq!(data.times, [t(0), t(5), t(10)]);
        assert_eq!(data.series[0].1, [Some(1.0), Some(2.0), None]);
        assert_eq!(data.series[1].1, [None, Some(3.0), None]);
        assert_eq!(data.points(), 3);
    }

    #[test]
    fn charts_keep_the_highest_lines() {
        let series =
            (0..12).map(|i| HostSeries { host: format!("be{i:02}"), points: vec![(Utc::now(), i as f64)] }).collect();
        let kept = top_lines(series);
        assert_eq!(kept.len(), LINES_PER_CHART);
        assert_eq!(kept[0].host, "be04");
    }
}
