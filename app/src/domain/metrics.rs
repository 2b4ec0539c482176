//! What the controller reads from the metrics pipeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A backend's (or remote site's) traffic as the proxies saw it over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HostTraffic {
    pub logins_ok: f64,
    pub logins_failed: f64,
    pub deliveries_ok: f64,
    pub deliveries_failed: f64,
}

impl HostTraffic {
    /// Failed logins and deliveries over all of them, if there were any.
    pub fn failure_ratio(&self) -> Option<f64> {
        let failed = self.logins_failed + self.deliveries_failed;
        let total = failed + self.logins_ok + self.deliveries_ok;
        (total > 0.0).then(|| failed / total)
    }

    /// What host failure handling compares with `HOST_FAILURE_RATIO` (spec c.3 proposal):
    /// the worse of the login failure ratio and the delivery failure ratio, the latter only
    /// once there are at least `min_deliveries` deliveries, so that a handful cannot decide.
    pub fn worst_ratio(&self, min_deliveries: f64) -> Option<f64> {
        let logins = self.logins_ok + self.logins_failed;
        let deliveries = self.deliveries_ok + self.deliveries_failed;
        let login = (logins > 0.0).then(|| self.logins_failed / logins);
        let delivery = (deliveries > 0.0 && deliveries >= min_deliveries).then(|| self.deliveries_failed / deliveries);
        match (login, delivery) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Logins seen, failed or not.
    pub fn logins(&self) -> f64 {
        self.logins_ok + self.logins_failed
    }
}

/// The resources whose Z-scores make up a backend's load score.
pub const SCORED_RESOURCES: [&str; 3] = ["memused", "cpu", "metacache"];

/// One backend's Z-score for one resource: its average over a window, and how many samples
/// there are over the last 24 hours (for `HOST_LOAD_BALANCE_MIN_SAMPLES`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostScore {
    pub host: String,
    pub score: String,
    pub average: f64,
    pub samples_24h: u64,
}

/// A per-host measure over time, as the history charts show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostMeasure {
    /// Logins seen by the proxies (failed or not), per minute, averaged over 5 minutes.
    LoginsPerMinute,
    /// Failed logins and deliveries over all of them, over 5 minutes (0 to 1); no point where
    /// there was no traffic.
    FailureRatio,
    /// The host's Z-scores ([`SCORED_RESOURCES`]) summed, as load balancing ranks hosts.
    SummedZScore,
}

/// One host's values of a measure, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSeries {
    pub host: String,
    pub points: Vec<(DateTime<Utc>, f64)>,
}
