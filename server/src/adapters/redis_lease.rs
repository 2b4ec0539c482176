//! The leader lease in Redis: `palomar:leader:<site>` holds `holder|token` with a TTL, and
//! `palomar:leader:<site>:token` counts holders. One Lua script takes or renews it atomically.
//! A new holder's token is never below the Redis server's clock in milliseconds, so tokens keep
//! growing when Redis restarts without its data (the broker usually keeps none): a count that
//! started again at 1 would give a second holder a token an earlier one had.

use std::time::Duration;

use async_trait::async_trait;
use palomar_core::ports::{LeaderLease, Lease, StoreError};
use redis::{aio::ConnectionManager, Script};

pub struct RedisLease {
    connection: ConnectionManager,
}

const ACQUIRE: &str = r#"
local current = redis.call('GET', KEYS[1])
if not current then
  local token = redis.call('INCR', KEYS[2])
  local now = redis.call('TIME')
  local floor = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  if token < floor then
    token = floor
    redis.call('SET', KEYS[2], token)
  end
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. string.format('%d', token), 'PX', ARGV[2])
  return {1, token}
end
local holder, token = string.match(current, '^(.*)|(%d+)$')
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(token)}
end
return {0, tonumber(token)}
"#;

const RELEASE: &str = r#"
local current = redis.call('GET', KEYS[1])
if current and string.match(current, '^(.*)|%d+$') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {err}"))
}

fn key(site: &str) -> String {
    format!("palomar:leader:{site}")
}

impl RedisLease {
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self { connection: super::redis_connection(url).await? })
    }
}

#[async_trait]
impl LeaderLease for RedisLease {
    async fn acquire_or_renew(&self, site: &str, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let mut connection = self.connection.clone();
        let (held, token): (i64, u64) = Script::new(ACQUIRE)
            .key(key(site))
            .key(format!("{}:token", key(site)))
            .arg(holder)
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok((held == 1).then(|| Lease { holder: holder.to_string(), token }))
    }

    async fn release(&self, site: &str, holder: &str) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let _: i64 =
            Script::new(RELEASE).key(key(site)).arg(holder).invoke_async(&mut connection).await.map_err(unavailable)?;
        Ok(())
    }

    async fn current(&self, site: &str) -> Result<Option<Lease>, StoreError> {
        let mut connection = self.connection.clone();
        let value: Option<String> =
            redis::cmd("GET").arg(key(site)).query_async(&mut connection).await.map_err(unavailable)?;
        Ok(value.and_then(|v| {
            let (holder, token) = v.rsplit_once('|')?;
            Some(Lease { holder: holder.to_string(), token: token.parse().ok()? })
        }))
    }
}
