//! The metrics port on Prometheus' HTTP API (`PROMETHEUS_URL`, `PROMETHEUS_JOB_NAME`), with the
//! queries of spec section (g): four 5-minute increases per `dest_host`, combined here (a
//! missing side counts 0), and the recorded Z-scores.

use std::{collections::BTreeMap, time::Duration};

use app::{
    domain::{
        logtext::{escaped, redact_userinfo},
        metrics::{HostScore, HostTraffic},
    },
    ports::{Metrics, MetricsError},
};
use async_trait::async_trait;
use serde::Deserialize;

use super::http_body::{self, error_chain, BoundedError};

/// The deadline of one query, from connecting to the last byte of the answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest answer read: one vector of a few samples per backend host is far below it.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// A samples' labels and its value.
pub type LabelledValue = (BTreeMap<String, String>, f64);

/// The metrics port on a Prometheus server.
pub struct PrometheusMetrics {
    client: reqwest::Client,
    base_url: String,
    job: Option<String>,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
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

    /// Runs an instant query that must return a vector.
    async fn vector(&self, promql: &str) -> Result<Vec<LabelledValue>, MetricsError> {
        let request = self
            .client
            .get(format!("{}/api/v1/query", self.base_url))
            .query(&[("query", promql)])
            .timeout(self.timeout);
        let exchange = http_body::within(self.timeout, async {
            let response = request.send().await.map_err(|e| BoundedError::Transport(error_chain(e)))?;
            let status = response.status();
            Ok((status, http_body::read_capped(response, MAX_ANSWER_BYTES).await?))
        });
        match exchange.await {
            Ok((status, body)) => parse_vector(status.as_u16(), &body),
            Err(err @ BoundedError::TooLarge(_)) => Err(MetricsError::BadResponse(err.to_string())),
            // Named by its URL, credentials redacted, since the error chain carries none.
            Err(err) => Err(MetricsError::Unreachable(format!("{}: {err}", redact_userinfo(&self.base_url)))),
        }
    }
}

/// Reads an instant query's answer (`status` is the HTTP status) that must be a vector:
/// each sample's labels and value, a value that is not finite counted as 0.
pub fn parse_vector(status: u16, body: &[u8]) -> Result<Vec<LabelledValue>, MetricsError> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| MetricsError::BadResponse(format!("HTTP {status}: {}", escaped(e))))?;
    if answer.status != "success" {
        return Err(MetricsError::Query(match answer.error {
            Some(error) => escaped(error),
            None => format!("HTTP {status}"),
        }));
    }
    let data = answer.data.ok_or_else(|| MetricsError::BadResponse("no data".into()))?;
    if data.result_type != "vector" {
        return Err(MetricsError::BadResponse(format!("expected a vector, got {}", escaped(data.result_type))));
    }
    data.result
        .into_iter()
        .map(|s| {
            let value = s
                .value
                .1
                .parse::<f64>()
                .map_err(|_| MetricsError::BadResponse(format!("not a number: {}", escaped(&s.value.1))))?;
            Ok((s.metric, if value.is_finite() { value } else { 0.0 }))
        })
        .collect()
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[async_trait]
impl Metrics for PrometheusMetrics {
    async fn host_traffic(&self, window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError> {
        let mut traffic: BTreeMap<String, HostTraffic> = BTreeMap::new();
        let seconds = window.as_secs().max(1);
        for metric in [
            "proxy_session_success",
            "proxy_session_failure",
            "lmtp_rcpt_finished_success",
            "lmtp_rcpt_finished_failure",
        ] {
            let query = format!(
                "sum by (dest_host) (increase(dovecot_{metric}_total{{dest_host!=\"\"{}}}[{seconds}s]))",
                self.job_matcher()
            );
            for (labels, value) in self.vector(&query).await? {
                let Some(host) = labels.get("dest_host") else { continue };
                let t = traffic.entry(host.clone()).or_default();
                match metric {
                    "proxy_session_success" => t.logins_ok = value,
                    "proxy_session_failure" => t.logins_failed = value,
                    "lmtp_rcpt_finished_success" => t.deliveries_ok = value,
                    _ => t.deliveries_failed = value,
                }
            }
        }
        Ok(traffic)
    }

    async fn host_scores(&self, site: &str, window: Duration) -> Result<Vec<HostScore>, MetricsError> {
        let selector = format!("dovecot_cluster:host:zscore{{site=\"{}\"{}}}", escape(site), self.job_matcher());
        let key = |labels: &BTreeMap<String, String>| {
            (labels.get("host").cloned().unwrap_or_default(), labels.get("score").cloned().unwrap_or_default())
        };
        let averages = self.vector(&format!("avg_over_time({selector}[{}s])", window.as_secs().max(1))).await?;
        let counts: BTreeMap<(String, String), f64> = self
            .vector(&format!("count_over_time({selector}[24h])"))
            .await?
            .into_iter()
            .map(|(l, v)| (key(&l), v))
            .collect();
        Ok(averages
            .into_iter()
            .map(|(labels, average)| {
                let (host, score) = key(&labels);
                let samples_24h = counts.get(&(host.clone(), score.clone())).copied().unwrap_or(0.0) as u64;
                HostScore { host, score, average, samples_24h }
            })
            .collect())
    }
}
