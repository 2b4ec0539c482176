//! The metrics port on Prometheus' HTTP API (`PROMETHEUS_URL`, `PROMETHEUS_JOB_NAME`), with the
//! queries of docs/controller.md, "Host failure": four 5-minute increases per `dest_host`, combined here (a
//! missing side counts 0), and the recorded Z-scores; and their histories (`history`) as
//! range queries. Answers are read by `answer`.

mod answer;
mod history;
mod passes;

use std::{collections::BTreeMap, time::Duration};

use domain::{
    logtext::redact_userinfo,
    metrics::{HistoryGrid, HostMeasure, HostScore, HostSeries, HostTraffic},
    replay::PassMetrics,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use palomar_core::ports::{Metrics, MetricsError};

use super::http_body::{self, error_chain, BoundedError};
pub use answer::{parse_matrix, parse_vector, LabelledSeries, LabelledValue};

/// The deadline of one query, from connecting to the last byte of the answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest answer read: one vector of a few samples per backend host is far below it,
/// and so is a matrix of `MAX_HISTORY_POINTS` points (about 30 bytes each) per host.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The metrics port on a Prometheus server.
pub struct PrometheusMetrics {
    client: reqwest::Client,
    base_url: String,
    job: Option<String>,
    timeout: Duration,
}

impl PrometheusMetrics {
    /// A client of the Prometheus at `base_url`, filtering on `job` when it is not empty.
    pub fn new(base_url: &str, job: &str) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(QUERY_TIMEOUT).build()?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            job: (!job.is_empty()).then(|| job.to_string()),
            timeout: QUERY_TIMEOUT,
        })
    }

    /// Replaces the deadline of one query (tests use short ones).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Extra label matchers: the job filter, if set.
    fn job_matcher(&self) -> String {
        self.job.as_ref().map(|j| format!(",job=\"{}\"", escape(j))).unwrap_or_default()
    }

    /// One traffic counter's increase per `dest_host` over the last `seconds`.
    fn traffic_query(&self, metric: Counter, seconds: u64) -> String {
        format!(
            "sum by (dest_host) (increase(dovecot_{}_total{{dest_host!=\"\"{}}}[{seconds}s]))",
            metric.name(),
            self.job_matcher()
        )
    }

    /// The Z-scores of `site`'s hosts: their average over `window`, and their count over a day.
    fn score_queries(&self, site: &str, window: Duration) -> (String, String) {
        let selector = format!("dovecot_cluster:host:zscore{{site=\"{}\"{}}}", escape(site), self.job_matcher());
        (
            format!("avg_over_time({selector}[{}s])", window.as_secs().max(1)),
            format!("count_over_time({selector}[24h])"),
        )
    }

    /// Runs an instant query that must return a vector.
    async fn vector(&self, promql: &str) -> Result<Vec<LabelledValue>, MetricsError> {
        let (status, body) = self.get("query", &[("query", promql.to_string())]).await?;
        parse_vector(status, &body)
    }

    /// Runs a range query over `grid` that must return a matrix.
    async fn matrix(&self, promql: &str, grid: &HistoryGrid) -> Result<Vec<LabelledSeries>, MetricsError> {
        // Seconds to the millisecond: Prometheus evaluates at `start + k × step` up to `end`,
        // the times of `grid`.
        let seconds = |t: DateTime<Utc>| format!("{:.3}", t.timestamp_millis() as f64 / 1000.0);
        let params = [
            ("query", promql.to_string()),
            ("start", seconds(grid.start)),
            ("end", seconds(grid.end)),
            ("step", grid.step_secs.to_string()),
        ];
        let (status, body) = self.get("query_range", &params).await?;
        parse_matrix(status, &body)
    }

    /// One request to `/api/v1/<path>`: its HTTP status and body, within the deadline and
    /// the size cap.
    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<(u16, Vec<u8>), MetricsError> {
        let request = self.client.get(format!("{}/api/v1/{path}", self.base_url)).query(params).timeout(self.timeout);
        let exchange = http_body::within(self.timeout, async {
            let response = request.send().await.map_err(|e| BoundedError::Transport(error_chain(e)))?;
            let status = response.status();
            Ok((status, http_body::read_capped(response, MAX_ANSWER_BYTES).await?))
        });
        match exchange.await {
            Ok((status, body)) => Ok((status.as_u16(), body)),
            Err(err @ BoundedError::TooLarge(_)) => Err(MetricsError::BadResponse(err.to_string())),
            // Named by its URL, credentials redacted, since the error chain carries none.
            Err(err) => Err(MetricsError::Unreachable(format!("{}: {err}", redact_userinfo(&self.base_url)))),
        }
    }
}

/// The proxies' four counters (docs/dovecot-ce.md), each `dovecot_<name>_total` by `dest_host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    LoginOk,
    LoginFailed,
    DeliveryOk,
    DeliveryFailed,
}

const TRAFFIC_COUNTERS: [Counter; 4] =
    [Counter::LoginOk, Counter::LoginFailed, Counter::DeliveryOk, Counter::DeliveryFailed];

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Self::LoginOk => "proxy_session_success",
            Self::LoginFailed => "proxy_session_failure",
            Self::DeliveryOk => "lmtp_rcpt_finished_success",
            Self::DeliveryFailed => "lmtp_rcpt_finished_failure",
        }
    }

    /// Puts `value` in this counter's field of `traffic`.
    fn set(self, traffic: &mut HostTraffic, value: f64) {
        match self {
            Self::LoginOk => traffic.logins_ok = value,
            Self::LoginFailed => traffic.logins_failed = value,
            Self::DeliveryOk => traffic.deliveries_ok = value,
            Self::DeliveryFailed => traffic.deliveries_failed = value,
        }
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[async_trait]
impl Metrics for PrometheusMetrics {
    async fn host_traffic(&self, window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError> {
        let mut traffic: BTreeMap<String, HostTraffic> = BTreeMap::new();
        let seconds = window.as_secs().max(1);
        for metric in TRAFFIC_COUNTERS {
            for (labels, value) in self.vector(&self.traffic_query(metric, seconds)).await? {
                let Some(host) = labels.get("dest_host") else { continue };
                metric.set(traffic.entry(host.clone()).or_default(), value);
            }
        }
        Ok(traffic)
    }

    async fn host_scores(&self, site: &str, window: Duration) -> Result<Vec<HostScore>, MetricsError> {
        let (average_query, count_query) = self.score_queries(site, window);
        let averages = self.vector(&average_query).await?;
        let counts: BTreeMap<(String, String), f64> =
            self.vector(&count_query).await?.into_iter().map(|(l, v)| (score_key(&l), v)).collect();
        let mut scores: Vec<HostScore> = averages
            .into_iter()
            .map(|(labels, average)| {
                let (host, score) = score_key(&labels);
                let samples_24h = counts.get(&(host.clone(), score.clone())).copied().unwrap_or(0.0) as u64;
                HostScore { host, score, average, samples_24h }
            })
            .collect();
        // By host, then resource: load balancing sums a host's scores in this order, and a
        // replay reads them in it too.
        scores.sort_by(|a, b| (&a.host, &a.score).cmp(&(&b.host, &b.score)));
        Ok(scores)
    }

    async fn host_history(
        &self,
        site: &str,
        measure: HostMeasure,
        end: DateTime<Utc>,
        range: Duration,
        step: Duration,
    ) -> Result<Vec<HostSeries>, MetricsError> {
        self.history(site, measure, end, range, step).await
    }

    async fn pass_history(
        &self,
        site: &str,
        grid: &HistoryGrid,
        traffic_window: Duration,
        score_window: Duration,
    ) -> Result<Vec<PassMetrics>, MetricsError> {
        self.passes(site, grid, traffic_window, score_window).await
    }
}

/// A Z-score series' (host, resource).
fn score_key(labels: &BTreeMap<String, String>) -> (String, String) {
    (labels.get("host").cloned().unwrap_or_default(), labels.get("score").cloned().unwrap_or_default())
}
