//! Shared test setup: real Cassandra and Redis come from the environment that
//! `scripts/test.sh` starts (PALOMAR_TEST_CASSANDRA, PALOMAR_TEST_REDIS).
#![allow(dead_code)]

pub mod chaos;
pub mod dovecot;
pub mod live;
pub mod logs;
pub mod prometheus;
pub mod raw_http;
pub mod rows;
pub mod web;

use std::collections::BTreeMap;

use palomar_server::{adapters::cassandra::CassandraStore, config::Config};

/// The workspace root of the checkout cargo runs these tests in. Read when the test runs:
/// the build cache is shared between checkouts, so a path baked in at build time may be
/// another checkout's.
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR");
    std::path::Path::new(&manifest).join("..")
}

/// A configuration from explicit variables only (never the process environment).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match Config::from_lookup(&move |name| vars.get(name).cloned()) {
        Ok(config) => config,
        Err(err) => panic!("test configuration is invalid: {err}"),
    }
}

/// The value of `var`, which names a real service a test needs. Unset, the test is skipped
/// (and says so), unless `PALOMAR_TEST_REQUIRE=all` (as `scripts/test.sh` sets): then it fails,
/// so that a pipeline cannot pass without its real half.
pub fn service(var: &str, what: &str) -> Option<String> {
    let value = std::env::var(var).ok();
    if value.is_none() {
        let required = std::env::var("PALOMAR_TEST_REQUIRE").is_ok_and(|v| v == "all");
        assert!(!required, "{var} is not set, and PALOMAR_TEST_REQUIRE=all: {what} is required");
        eprintln!("{var} is not set: skipping {what} (scripts/test.sh sets it)");
    }
    value
}

/// `host:port` of the test Cassandra, or `None` (the test then says it was skipped).
pub fn cassandra_address() -> Option<String> {
    service("PALOMAR_TEST_CASSANDRA", "the Cassandra half")
}

/// A fresh keyspace named after the test, with the whole schema created in it.
pub async fn cassandra_store(test_name: &str) -> Option<CassandraStore> {
    let address = cassandra_address()?;
    let store = cassandra_store_at(test_name, &address).await;
    let tables = palomar_server::adapters::cassandra::schema::GEODB_TABLES
        .iter()
        .chain(palomar_server::adapters::cassandra::schema::CONTROLLER_TABLES.iter())
        .filter_map(|cql| cql.split("{ks}.").nth(1)?.split_whitespace().next());
    let keyspace = store.keyspace().to_string();
    for table in tables {
        store
            .session()
            .query_unpaged(format!("TRUNCATE {keyspace}.{table}"), ())
            .await
            .unwrap_or_else(|e| panic!("truncate {table}: {e}"));
    }
    Some(store)
}

/// A connection to the test's keyspace through `address` (the test Cassandra, or a proxy in
/// front of it), without emptying it.
pub async fn cassandra_store_at(test_name: &str, address: &str) -> CassandraStore {
    let (host, port) = address.rsplit_once(':').unwrap_or((address, "9042"));
    let keyspace = format!("t_{}", test_name.to_ascii_lowercase()).chars().take(48).collect::<String>();
    let config = config(&[
        ("CASSANDRA_SERVERS", host),
        ("CASSANDRA_PORT", port),
        ("CASSANDRA_KEYSPACE", &keyspace),
        ("CASSANDRA_LOCAL_DC", "datacenter1"),
        ("CASSANDRA_CONSISTENCY", "LOCAL_ONE"),
    ]);
    CassandraStore::connect(&config.cassandra).await.unwrap_or_else(|e| panic!("{e}"))
}

/// `redis://…` of the test Redis, or `None`.
pub fn redis_url() -> Option<String> {
    service("PALOMAR_TEST_REDIS", "the tests on a real Redis")
}

/// Every port on one embedded store, with `metrics`, no doveadm API to reach (so no test
/// reaches a real-looking backend name), syntax-only host checks and the real clock.
pub fn embedded_ports(
    store: std::sync::Arc<palomar_server::adapters::embedded::EmbeddedStore>,
    metrics: std::sync::Arc<dyn palomar_core::ports::Metrics>,
) -> palomar_core::ports::Ports {
    use std::sync::Arc;
    palomar_core::ports::Ports {
        geodb: store.clone(),
        operators: store.clone(),
        audit: store.clone(),
        members: store.clone(),
        records: store.clone(),
        plans: store.clone(),
        lease: store,
        metrics,
        doveadm: Arc::new(palomar_server::adapters::NoDoveadm),
        resolver: Arc::new(palomar_server::adapters::SyntaxOnlyResolver),
        clock: Arc::new(palomar_core::ports::SystemClock),
    }
}

/// The services on `ports`, with an idle controller of site `dc1a` (it runs no loop).
pub fn services_with(ports: palomar_core::ports::Ports) -> palomar_core::services::Services {
    let census = std::sync::Arc::new(palomar_core::controller::Census::default());
    let controller =
        palomar_core::controller::Controller::new(ports.clone(), census, controller_settings("dc1a", "test"));
    palomar_core::services::Services::new(ports, controller)
}

/// The services on an embedded store, with no metrics source and syntax-only host checks.
pub fn services_on(
    store: std::sync::Arc<palomar_server::adapters::embedded::EmbeddedStore>,
) -> palomar_core::services::Services {
    services_with(embedded_ports(store, std::sync::Arc::new(palomar_server::adapters::NoMetrics)))
}

/// Controller settings scaled for tests: cool times of 10 minutes, a start timeout of 60 s and
/// a finish timeout of 300 s, 3 samples for load scores. Tests override what they need.
pub fn controller_settings(site: &str, instance: &str) -> palomar_core::controller::ControllerSettings {
    use domain::planning::{
        group_balance::GroupBalanceSettings, group_move_timeouts::SupervisionSettings,
        host_failure::HostFailureSettings, load_balance::LoadBalanceSettings,
    };
    use std::time::Duration;
    palomar_core::controller::ControllerSettings {
        site: site.into(),
        instance: instance.into(),
        dry_run: false,
        group_balance_enabled: true,
        host_failure: HostFailureSettings {
            min_logins: 10,
            ratio: 0.1,
            cool_time: Duration::from_secs(600),
            window: Duration::from_secs(300),
        },
        load_balance: LoadBalanceSettings {
            min_samples: 3,
            delta_threshold: 0.5,
            group_cool_time: Duration::from_secs(600),
            host_cool_time: Duration::from_secs(600),
        },
        supervision: SupervisionSettings {
            start_timeout: Duration::from_secs(60),
            finish_timeout: Duration::from_secs(300),
        },
        group_balance: GroupBalanceSettings { slack_percent: 10, max_between_groups: 20 },
        group_balance_max_user_moves_per_pass: 15,
        dns_failure_allowed: Duration::from_secs(30),
        score_window: Duration::from_secs(300),
        intervals: palomar_core::controller::Intervals {
            lease_ttl: Duration::from_secs(30),
            ..palomar_core::controller::Intervals::default()
        },
        dovecot: palomar_core::controller::DovecotSettings::default(),
    }
}
