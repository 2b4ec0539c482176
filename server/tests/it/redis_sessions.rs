//! The Redis session store against a real Redis.

use crate::common;

use palomar_server::adapters::redis_sessions::RedisSessionStore;
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

fn record(seconds: i64) -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert("operator".to_string(), serde_json::json!("alice"));
    Record { id: Id::default(), data, expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds) }
}

#[tokio::test]
async fn create_load_save_delete() {
    let Some(url) = common::redis_url() else { return };
    let store = RedisSessionStore::connect(&url).await.expect("redis");
    let mut rec = record(60);
    store.create(&mut rec).await.unwrap();
    let loaded = store.load(&rec.id).await.unwrap().expect("stored");
    assert_eq!(loaded.data, rec.data);
    rec.data.insert("operator".into(), serde_json::json!("bob"));
    store.save(&rec).await.unwrap();
    assert_eq!(store.load(&rec.id).await.unwrap().map(|r| r.data), Some(rec.data.clone()));
    store.delete(&rec.id).await.unwrap();
    assert_eq!(store.load(&rec.id).await.unwrap(), None);
}

#[tokio::test]
async fn sessions_expire_in_redis() {
    let Some(url) = common::redis_url() else { return };
    let store = RedisSessionStore::connect(&url).await.expect("redis");
    let mut rec = record(1);
    store.create(&mut rec).await.unwrap();
    assert!(store.load(&rec.id).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(store.load(&rec.id).await.unwrap(), None, "Redis dropped the key when the session expired");
}

#[tokio::test]
async fn create_never_overwrites_an_existing_id() {
    let Some(url) = common::redis_url() else { return };
    let store = RedisSessionStore::connect(&url).await.expect("redis");
    let mut first = record(60);
    store.create(&mut first).await.unwrap();
    let mut second = Record { id: first.id, ..record(60) };
    second.data.insert("operator".into(), serde_json::json!("mallory"));
    store.create(&mut second).await.unwrap();
    assert_ne!(second.id, first.id, "a colliding id is replaced");
    assert_eq!(store.load(&first.id).await.unwrap().map(|r| r.data), Some(first.data));
}
