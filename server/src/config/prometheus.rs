//! The metrics pipeline: `PROMETHEUS_*`.

use super::env::{is_http_url, Reader};

/// Where the controller reads host traffic and load scores.
#[derive(Clone)]
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

/// The URL may carry credentials (basic auth as user info): never shown.
impl std::fmt::Debug for PrometheusSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusSettings")
            .field("url", &domain::logtext::redact_userinfo(&self.url))
            .field("job_name", &self.job_name)
            .finish()
    }
}
