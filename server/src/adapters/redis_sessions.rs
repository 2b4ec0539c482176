//! Operator sessions in Redis, on the same `redis` client the rest of the server uses
//! (rather than a second client through tower-sessions-redis-store).

use async_trait::async_trait;
use redis::{aio::ConnectionManager, AsyncCommands, SetExpiry, SetOptions};
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, SessionStore},
};

/// A tower-sessions store keeping each session as JSON under `palomar:session:<id>`, expiring
/// in Redis when the session does.
#[derive(Clone)]
pub struct RedisSessionStore {
    connection: ConnectionManager,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisSessionStore")
    }
}

impl RedisSessionStore {
    /// Connects to Redis at `url`.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self { connection: super::redis_connection(url).await? })
    }

    fn key(id: &Id) -> String {
        format!("palomar:session:{id}")
    }

    /// Writes the record; with `only_new`, fails (returns false) if the id is taken.
    async fn set(&self, record: &Record, only_new: bool) -> session_store::Result<bool> {
        let value = serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let expires_at = record.expiry_date.unix_timestamp().max(1) as u64;
        let mut options = SetOptions::default().with_expiration(SetExpiry::EXAT(expires_at));
        if only_new {
            options = options.conditional_set(redis::ExistenceCheck::NX);
        }
        let mut connection = self.connection.clone();
        let reply: Option<String> =
            connection.set_options(Self::key(&record.id), value, options).await.map_err(backend)?;
        Ok(reply.is_some())
    }
}

fn backend(err: redis::RedisError) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits; a collision is practically impossible, but never overwrite.
        while !self.set(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.set(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut connection = self.connection.clone();
        let value: Option<String> = connection.get(Self::key(id)).await.map_err(backend)?;
        value.map(|v| serde_json::from_str(&v).map_err(|e| session_store::Error::Decode(e.to_string()))).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut connection = self.connection.clone();
        let _: () = connection.del(Self::key(id)).await.map_err(backend)?;
        Ok(())
    }
}
