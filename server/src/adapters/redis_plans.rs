//! Group-size balancing plans in Redis (docs/controller.md, "Group-size balancing"): `palomar:gb:plan:<site>` is a list of JSON
//! entries taken from the front; `palomar:gb:meta:<site>` holds when it was made and its size.

use domain::moves::{PlanEntry, PlanSummary};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use palomar_core::ports::{BalancePlanStore, StoreError};
use redis::aio::ConnectionManager;

pub struct RedisPlans {
    connection: ConnectionManager,
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {err}"))
}

fn keys(site: &str) -> (String, String) {
    (format!("palomar:gb:plan:{site}"), format!("palomar:gb:meta:{site}"))
}

impl RedisPlans {
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self { connection: super::redis_connection(url).await? })
    }
}

#[async_trait]
impl BalancePlanStore for RedisPlans {
    async fn replace_plan(
        &self,
        site: &str,
        created_at: DateTime<Utc>,
        entries: &[PlanEntry],
    ) -> Result<(), StoreError> {
        let (list, meta) = keys(site);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&list).ignore();
        for chunk in entries.chunks(1000) {
            let values = chunk
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            pipe.rpush(&list, values).ignore();
        }
        pipe.hset_multiple(&meta, &[("created_at", created_at.to_rfc3339()), ("total", entries.len().to_string())])
            .ignore();
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection).await.map_err(unavailable)
    }

    async fn take_entries(&self, site: &str, count: usize) -> Result<Vec<PlanEntry>, StoreError> {
        let Some(count) = std::num::NonZeroUsize::new(count) else { return Ok(Vec::new()) };
        let (list, _) = keys(site);
        let mut connection = self.connection.clone();
        let raw: Option<Vec<String>> =
            redis::cmd("LPOP").arg(&list).arg(count.get()).query_async(&mut connection).await.map_err(unavailable)?;
        raw.unwrap_or_default()
            .iter()
            .map(|r| serde_json::from_str(r).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn plan_summary(&self, site: &str) -> Result<Option<PlanSummary>, StoreError> {
        let (list, meta) = keys(site);
        let mut connection = self.connection.clone();
        let (fields, remaining): (std::collections::HashMap<String, String>, u64) =
            redis::pipe().hgetall(&meta).llen(&list).query_async(&mut connection).await.map_err(unavailable)?;
        let Some(created_at) = fields.get("created_at") else { return Ok(None) };
        let created_at = DateTime::parse_from_rfc3339(created_at)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .with_timezone(&Utc);
        let total = fields.get("total").and_then(|t| t.parse().ok()).unwrap_or(0);
        Ok(Some(PlanSummary { created_at, total, remaining }))
    }
}
