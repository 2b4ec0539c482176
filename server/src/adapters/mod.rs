//! Adapters: the ports' implementations. Real: `cassandra`, `redis_sessions`, `doveadm_http`,
//! `prometheus`. Embedded, for the demo and the fast tests: `embedded` (GeoDB and operators)
//! and `sim_metrics` (metrics read from the in-process simulator).

pub mod cassandra;
pub mod doveadm_http;
pub mod embedded;
pub mod prometheus;
pub mod redis_sessions;
pub mod sim_metrics;

use std::{collections::BTreeMap, time::Duration};

use app::{
    domain::metrics::{HostScore, HostTraffic},
    ports::{Metrics, MetricsError},
};

/// The metrics port where there is no metrics source (command-line tools, some tests):
/// every query says so, and callers carry on without figures.
pub struct NoMetrics;

#[async_trait::async_trait]
impl Metrics for NoMetrics {
    async fn host_traffic(&self, _window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError> {
        Err(MetricsError::Unreachable("no metrics source is configured".into()))
    }

    async fn host_scores(&self, _site: &str, _window: Duration) -> Result<Vec<HostScore>, MetricsError> {
        Err(MetricsError::Unreachable("no metrics source is configured".into()))
    }
}
