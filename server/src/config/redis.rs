//! The Redis the controller uses: `CELERY_*`, the seed's names for its broker.

use std::time::Duration;

use super::env::{Reader, Secret};

/// Where Redis is. There is no Celery here: the broker URL is the Redis that holds sessions,
/// the leader lease and group-balance plans; the result backend is validated and unused.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `CELERY_BROKER_URL`. Secret: a Redis URL may carry a password.
    pub url: Secret,
    /// `CELERY_RESULT_BACKEND`: accepted for drop-in compatibility.
    pub result_url: Secret,
    /// `CELERY_RESULT_EXPIRES_SECS`: accepted for drop-in compatibility.
    pub result_expires: Duration,
}

const REDIS_DEFAULT: &str = "redis://localhost:6379/0";
const REDIS_FORM: &str = "a redis:// or rediss:// URL";

impl RedisSettings {
    /// Reads `CELERY_*`; transport options other than `{}` (Sentinel) are refused.
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        let url = r.secret(&["CELERY_BROKER_URL"], REDIS_DEFAULT, REDIS_FORM, parse_redis_url);
        let result_url = r.secret(&["CELERY_RESULT_BACKEND"], REDIS_DEFAULT, REDIS_FORM, parse_redis_url);
        for name in ["CELERY_BROKER_TRANSPORT_OPTIONS", "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS"] {
            r.get(&[name], "{}".to_string(), "{} (Redis Sentinel is not supported yet)", |s| {
                (s.replace(char::is_whitespace, "") == "{}").then(|| "{}".to_string())
            });
        }
        Self { url, result_url, result_expires: r.seconds(&["CELERY_RESULT_EXPIRES_SECS"], 60, 1) }
    }
}

fn parse_redis_url(s: &str) -> Option<String> {
    (s.starts_with("redis://") || s.starts_with("rediss://")).then(|| s.to_string())
}
