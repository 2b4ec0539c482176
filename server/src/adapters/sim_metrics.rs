//! The embedded metrics adapter: reads the in-process simulator's history directly, the way
//! the Prometheus adapter reads what Prometheus scraped from it.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use domain::{
    metrics::{HistoryGrid, HostMeasure, HostScore, HostSeries, HostTraffic},
    replay::{PassMetrics, MAX_PASSES},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use palomar_core::ports::{Metrics, MetricsError};

use palomar_sim::Simulator;

/// The metrics port on the in-process simulator's history.
pub struct SimulatorMetrics {
    sim: Arc<Simulator>,
}

impl SimulatorMetrics {
    /// Reads `sim`'s history.
    pub fn new(sim: Arc<Simulator>) -> Self {
        Self { sim }
    }
}

#[async_trait]
impl Metrics for SimulatorMetrics {
    async fn host_traffic(&self, window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError> {
        Ok(self.sim.traffic_over(window))
    }

    async fn host_scores(&self, site: &str, window: Duration) -> Result<Vec<HostScore>, MetricsError> {
        Ok(host_scores(self.sim.scores(site, window)))
    }

    async fn host_history(
        &self,
        site: &str,
        measure: HostMeasure,
        end: DateTime<Utc>,
        range: Duration,
        step: Duration,
    ) -> Result<Vec<HostSeries>, MetricsError> {
        Ok(self.sim.host_history(site, measure, end, range, step))
    }

    async fn pass_history(
        &self,
        site: &str,
        grid: &HistoryGrid,
        traffic_window: Duration,
        score_window: Duration,
    ) -> Result<Vec<PassMetrics>, MetricsError> {
        Ok(grid
            .times()
            .take(MAX_PASSES)
            .map(|at| {
                let scores = host_scores(self.sim.scores_at(site, score_window, at));
                PassMetrics {
                    at,
                    traffic: self.sim.traffic_at(traffic_window, at),
                    scores: (!scores.is_empty()).then_some(scores),
                }
            })
            .collect())
    }
}

fn host_scores(scores: Vec<(String, &'static str, f64, u64)>) -> Vec<HostScore> {
    scores
        .into_iter()
        .map(|(host, score, average, samples_24h)| HostScore { host, score: score.to_string(), average, samples_24h })
        .collect()
}
