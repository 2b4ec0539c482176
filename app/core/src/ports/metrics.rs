//! The metrics port: what the controller and the dashboards read from Prometheus (or, in the
//! demo and the fast tests, from the simulator).

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use domain::metrics::{HostMeasure, HostScore, HostSeries, HostTraffic};

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

/// The proxies' and backends' metrics, as the controller needs them.
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
}

/// The most points a history query answers per host: a chart is a few hundred pixels wide.
pub const MAX_HISTORY_POINTS: usize = 500;
