//! The metrics pipeline: `PROMETHEUS_*`.

use super::env::{is_http_url, Reader};

/// Where the controller reads host traffic and load scores.
#[derive(Debug, Clone)]
pub struct PrometheusSettings {
    /// `PROMETHEUS_URL`.
    pub url: String,
    /// `PROMETHEUS_JOB_NAME`; empty: any job.
    pub job_name: String,
}

impl PrometheusSettings {
    /// Reads `PROMETHEUS_URL` and `PROMETHEUS_JOB_NAME`.
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        Self {
            url: r.get(&["PROMETHEUS_URL"], "http://localhost:9090/".to_string(), "an http:// or https:// URL", |s| {
                is_http_url(s).then(|| s.to_string())
            }),
            job_name: r.string(&["PROMETHEUS_JOB_NAME"], ""),
        }
    }
}
