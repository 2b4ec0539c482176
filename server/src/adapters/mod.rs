//! Adapters: the ports' implementations. Real: `cassandra`, `redis_sessions`, `doveadm_http`,
//! `prometheus`, `redis_lease`, `redis_plans`. Embedded, for the demo and the fast tests: `embedded` (GeoDB and operators)
//! and `sim_metrics` (metrics read from the in-process simulator).

pub mod cassandra;
pub mod doveadm_http;
pub mod embedded;
pub mod http_body;
pub mod prometheus;
pub mod redis_lease;
pub mod redis_plans;
pub mod redis_sessions;
pub mod sim_metrics;

use domain::doveadm::DoveadmCommand;
use std::{collections::BTreeMap, time::Duration};

use domain::metrics::{HostMeasure, HostScore, HostSeries, HostTraffic};

use chrono::{DateTime, Utc};
use palomar_core::ports::{Doveadm, DoveadmError, DoveadmRow, Metrics, MetricsError};

/// How long one Redis command may take, and one connection attempt: Redis answers in
/// milliseconds, so past this it is down, and every caller (the lease, `/healthz`, a page)
/// hears so at once instead of waiting on reconnects.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// A Redis connection that reconnects by itself and bounds every command by [`REDIS_TIMEOUT`].
pub async fn redis_connection(url: &str) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(REDIS_TIMEOUT);
    redis::aio::ConnectionManager::new_with_config(redis::Client::open(url)?, config).await
}

/// The doveadm port where no backend may be reached (command-line tools, tests of the
/// services): every call fails as unreachable, so nothing on the network is ever contacted.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDoveadm;

#[async_trait::async_trait]
impl Doveadm for NoDoveadm {
    async fn run(&self, host: &str, _command: &DoveadmCommand) -> Result<Vec<DoveadmRow>, DoveadmError> {
        Err(DoveadmError::Unreachable { host: host.to_string(), reason: "no doveadm API is configured here".into() })
    }

    async fn list_commands(&self, host: &str) -> Result<Vec<String>, DoveadmError> {
        Err(DoveadmError::Unreachable { host: host.to_string(), reason: "no doveadm API is configured here".into() })
    }
}

/// The metrics port where there is no metrics source (command-line tools, some tests):
/// every query for current figures says so, and callers carry on without them; a history is
/// empty (a chart of nothing, as before any traffic).
pub struct NoMetrics;

#[async_trait::async_trait]
impl Metrics for NoMetrics {
    async fn host_traffic(&self, _window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError> {
        Err(MetricsError::Unreachable("no metrics source is configured".into()))
    }

    async fn host_scores(&self, _site: &str, _window: Duration) -> Result<Vec<HostScore>, MetricsError> {
        Err(MetricsError::Unreachable("no metrics source is configured".into()))
    }

    async fn host_history(
        &self,
        _site: &str,
        _measure: HostMeasure,
        _end: DateTime<Utc>,
        _range: Duration,
        _step: Duration,
    ) -> Result<Vec<HostSeries>, MetricsError> {
        Ok(Vec::new())
    }
}

/// Host names must resolve (DNS through the system resolver), as `doveadm cluster backend add` checks.
pub struct DnsResolver;

#[async_trait::async_trait]
impl palomar_core::ports::HostResolver for DnsResolver {
    async fn check(&self, host: &str) -> Result<(), String> {
        match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host, 0))).await {
            Ok(Ok(mut addresses)) => addresses.next().map(|_| ()).ok_or_else(|| "no addresses".to_string()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("the lookup timed out".into()),
        }
    }
}

/// Host names are only checked for syntax (`BACKEND_HOST_CHECK=syntax`): for labs and the
/// demo, whose backend names are not in DNS.
pub struct SyntaxOnlyResolver;

#[async_trait::async_trait]
impl palomar_core::ports::HostResolver for SyntaxOnlyResolver {
    async fn check(&self, _host: &str) -> Result<(), String> {
        Ok(())
    }
}
