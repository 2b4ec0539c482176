//! Shared test setup: real Cassandra and Redis come from the environment that
//! `scripts/test.sh` starts (PALOMAR_TEST_CASSANDRA, PALOMAR_TEST_REDIS).
#![allow(dead_code)]

pub mod prometheus;

use std::collections::BTreeMap;

use palomar_server::{adapters::cassandra::CassandraStore, config::Config};

/// A configuration from explicit variables only (never the process environment).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match Config::from_lookup(&move |name| vars.get(name).cloned()) {
        Ok(config) => config,
        Err(err) => panic!("test configuration is invalid: {err}"),
    }
}

/// `host:port` of the test Cassandra, or `None` (the test then says it was skipped).
pub fn cassandra_address() -> Option<String> {
    let address = std::env::var("PALOMAR_TEST_CASSANDRA").ok();
    if address.is_none() {
        eprintln!("PALOMAR_TEST_CASSANDRA is not set: skipping the Cassandra half (scripts/test.sh sets it)");
    }
    address
}

/// A fresh keyspace named after the test, with the whole schema created in it.
pub async fn cassandra_store(test_name: &str) -> Option<CassandraStore> {
    let address = cassandra_address()?;
    let (host, port) = address.rsplit_once(':').unwrap_or((&address, "9042"));
    let keyspace = format!("t_{}", test_name.to_ascii_lowercase()).chars().take(48).collect::<String>();
    let config = config(&[
        ("CASSANDRA_SERVERS", host),
        ("CASSANDRA_PORT", port),
        ("CASSANDRA_KEYSPACE", &keyspace),
        ("CASSANDRA_LOCAL_DC", "datacenter1"),
        ("CASSANDRA_CONSISTENCY", "LOCAL_ONE"),
    ]);
    let store = CassandraStore::connect(&config).await.unwrap_or_else(|e| panic!("{e}"));
    let tables = palomar_server::adapters::cassandra::schema::GEODB_TABLES
        .iter()
        .chain(palomar_server::adapters::cassandra::schema::CONTROLLER_TABLES.iter())
        .filter_map(|cql| cql.split("{ks}.").nth(1)?.split_whitespace().next());
    for table in tables {
        store
            .session()
            .query_unpaged(format!("TRUNCATE {keyspace}.{table}"), ())
            .await
            .unwrap_or_else(|e| panic!("truncate {table}: {e}"));
    }
    Some(store)
}

/// `redis://…` of the test Redis, or `None`.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("PALOMAR_TEST_REDIS").ok();
    if url.is_none() {
        eprintln!("PALOMAR_TEST_REDIS is not set: skipping (scripts/test.sh sets it)");
    }
    url
}

/// The services on an embedded store, with no metrics source and syntax-only host checks.
pub fn services_on(store: std::sync::Arc<palomar_server::adapters::embedded::EmbeddedStore>) -> app::services::Services {
    use std::sync::Arc;
    app::services::Services::new(app::services::Ports {
        geodb: store.clone(),
        operators: store.clone(),
        audit: store.clone(),
        members: store,
        metrics: Arc::new(palomar_server::adapters::NoMetrics),
        resolver: Arc::new(palomar_server::adapters::SyntaxOnlyResolver),
        clock: Arc::new(app::ports::SystemClock),
    })
}
