//! The metrics port: what the controller and the dashboards read from Prometheus (or, in the
//! demo and the fast tests, from the simulator).

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use domain::{
    metrics::{HistoryGrid, HostMeasure, HostScore, HostSeries, HostTraffic},
    replay::PassMetrics,
};

/// Why a metrics query failed. The controller then makes no decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics source unreachable: {0}")]
    Unreachable(String),
    #[error("metrics query failed: {0}")]
    Query(String),
    #[error("unexpected metrics answer: {0}")]
    BadResponse(String),
}

/// The proxies' and backends' metrics, as the controller needs them, and their past for
/// replays.
#[async_trait]
pub trait Metrics: Send + Sync + 'static {
    /// Per `dest_host`: login and delivery successes and failures over the last `window`.
    async fn host_traffic(&self, window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError>;

    /// Per backend host of `site` and per resource: the Z-score averaged over `window`, and
    /// its sample count over the last 24 hours.
    async fn host_scores(&self, site: &str, window: Duration) -> Result<Vec<HostScore>, MetricsError>;

    /// Per backend host: `measure` every `step` over the `range` up to `end`, oldest first.
    /// Hosts are those of `site` where the metrics carry a site (Z-scores); otherwise every
    /// host, and the caller keeps its site's. At most [`MAX_HISTORY_POINTS`] points per host.
    async fn host_history(
        &self,
        site: &str,
        measure: HostMeasure,
        end: DateTime<Utc>,
        range: Duration,
        step: Duration,
    ) -> Result<Vec<HostSeries>, MetricsError>;

    /// What a live pass at each time of `grid` would have read: the traffic per `dest_host`
    /// over `traffic_window` ([`Metrics::host_traffic`]) and the load scores of `site` over
    /// `score_window` ([`Metrics::host_scores`]), each as answered at that time; `None` where
    /// the history has no sample (docs/replay.md). `grid` has at most
    /// `domain::replay::MAX_PASSES` times. A source without a history refuses.
    async fn pass_history(
        &self,
        site: &str,
        grid: &HistoryGrid,
        traffic_window: Duration,
        score_window: Duration,
    ) -> Result<Vec<PassMetrics>, MetricsError> {
        let _ = (site, grid, traffic_window, score_window);
        Err(MetricsError::Query("this metrics source keeps no history of past passes".into()))
    }
}

/// The most points a history query answers per host: a chart is a few hundred pixels wide.
pub const MAX_HISTORY_POINTS: usize = 500;
