//! The GeoDB schema the server creates, read back from Cassandra's `system_schema`, must be
//! exactly the seed's: Dovecot's proxies and backends read these tables.

use crate::common;

use std::collections::BTreeMap;

use palomar_server::adapters::cassandra::CassandraStore;

/// (column, CQL type, kind, position).
type Column = (&'static str, &'static str, &'static str, i32);

/// The columns per table, transcribed from the seed's CQL.
const SEED: &[(&str, &[Column])] = &[
    ("tags", &[("id", "uuid", "partition_key", 0), ("tag", "text", "regular", -1)]),
    (
        "sites",
        &[
            ("id", "uuid", "partition_key", 0),
            ("load_balancer", "text", "regular", -1),
            ("name", "text", "regular", -1),
            ("status", "text", "regular", -1),
            ("tag", "uuid", "regular", -1),
        ],
    ),
    (
        "site_reachability",
        &[
            ("dest_site_id", "uuid", "clustering", 0),
            ("reachable", "int", "regular", -1),
            ("src_site_id", "uuid", "partition_key", 0),
        ],
    ),
    (
        "backends",
        &[
            ("host", "text", "regular", -1),
            ("id", "uuid", "clustering", 0),
            ("last_moved_from", "text", "regular", -1),
            ("last_moved_to", "text", "regular", -1),
            ("load_factor", "int", "regular", -1),
            ("site_id", "uuid", "partition_key", 0),
            ("status", "text", "regular", -1),
            ("status_reason", "text", "regular", -1),
        ],
    ),
    (
        "backend_stats",
        &[
            ("id", "uuid", "clustering", 0),
            ("key", "text", "clustering", 1),
            ("site_id", "uuid", "partition_key", 0),
            ("type", "text", "regular", -1),
            ("value", "double", "regular", -1),
        ],
    ),
    (
        "proxy_dest_stats",
        &[
            ("dest_host", "text", "clustering", 0),
            ("key", "text", "clustering", 2),
            ("proxy_host", "text", "clustering", 1),
            ("proxy_site_id", "uuid", "partition_key", 0),
            ("type", "text", "regular", -1),
            ("value", "double", "regular", -1),
        ],
    ),
    (
        "user_groups",
        &[
            ("alt_backend_id", "uuid", "regular", -1),
            ("backend_id", "uuid", "regular", -1),
            ("moving", "text", "regular", -1),
            ("name", "text", "clustering", 0),
            ("refresh_after", "timestamp", "regular", -1),
            ("site_id", "uuid", "partition_key", 0),
            ("sticky_backend", "int", "regular", -1),
            ("sticky_users", "int", "regular", -1),
        ],
    ),
    (
        "group_sites",
        &[
            ("failover_site_id", "uuid", "regular", -1),
            ("group_name", "text", "partition_key", 0),
            ("last_update", "timestamp", "regular", -1),
            ("site_id", "uuid", "clustering", 0),
            ("status", "text", "regular", -1),
        ],
    ),
    (
        "users",
        &[
            ("failover_site_group_name", "text", "regular", -1),
            ("group_name", "text", "regular", -1),
            ("last_update", "timestamp", "regular", -1),
            ("metacache_last_host", "text", "regular", -1),
            ("moving_failover_site_group_name", "text", "regular", -1),
            ("moving_group_name", "text", "regular", -1),
            ("moving_preferred_site_id", "uuid", "regular", -1),
            ("preferred_site_id", "uuid", "regular", -1),
            ("username", "text", "partition_key", 0),
        ],
    ),
    (
        "cluster_settings",
        &[
            ("backend_id", "uuid", "clustering", 1),
            ("section", "text", "partition_key", 0),
            ("setting_name", "text", "clustering", 2),
            ("setting_value", "text", "regular", -1),
            ("site_id", "uuid", "clustering", 0),
        ],
    ),
];

type Columns = BTreeMap<String, Vec<(String, String, String, i32)>>;

async fn read_schema(store: &CassandraStore) -> Columns {
    let rows = store
        .session()
        .query_unpaged(
            "SELECT table_name, column_name, type, kind, position FROM system_schema.columns WHERE keyspace_name = ?",
            (store.keyspace(),),
        )
        .await
        .expect("read system_schema")
        .into_rows_result()
        .expect("rows");
    let mut columns = Columns::new();
    for row in rows.rows::<(String, String, String, String, i32)>().expect("typed rows") {
        let (table, column, cql_type, kind, position) = row.expect("row");
        columns.entry(table).or_default().push((column, cql_type, kind, position));
    }
    for cols in columns.values_mut() {
        cols.sort();
    }
    columns
}

#[tokio::test]
async fn geodb_tables_match_the_seed_exactly() {
    let Some(store) = common::cassandra_store("schema_matches_seed").await else { return };
    let actual = read_schema(&store).await;
    for (table, expected) in SEED {
        let expected: Vec<(String, String, String, i32)> =
            expected.iter().map(|(c, t, k, p)| (c.to_string(), t.to_string(), k.to_string(), *p)).collect();
        assert_eq!(actual.get(*table), Some(&expected), "table {table}");
    }
    let extra: Vec<&String> =
        actual.keys().filter(|t| !SEED.iter().any(|(s, _)| s == t) && !t.starts_with("controller_")).collect();
    assert!(extra.is_empty(), "only the seed's tables and controller_* tables: {extra:?}");
    assert!(actual.contains_key("controller_operators"));
    assert!(actual.contains_key("controller_audit_log"));
}

#[tokio::test]
async fn schema_creation_is_idempotent() {
    let Some(first) = common::cassandra_store("schema_idempotent").await else { return };
    let before = read_schema(&first).await;
    // Connecting again runs every CREATE again on the existing keyspace.
    let Some(second) = common::cassandra_store("schema_idempotent").await else { return };
    assert_eq!(read_schema(&second).await, before);
}

#[tokio::test]
async fn the_users_per_backend_history_and_replays_expire_after_the_time_kept() {
    let Some(store) = common::cassandra_store("schema_backend_users_ttl").await else { return };
    let kept = [
        ("controller_backend_users", palomar_core::ports::CENSUS_HISTORY_KEPT),
        ("controller_replays", domain::replay::RUN_KEPT),
    ];
    for (table, time) in kept {
        let rows = store
            .session()
            .query_unpaged(
                "SELECT default_time_to_live FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
                (store.keyspace(), table),
            )
            .await
            .expect("read system_schema")
            .into_rows_result()
            .expect("rows");
        let ttl = rows.maybe_first_row::<(i32,)>().expect("typed row").map(|(ttl,)| ttl);
        assert_eq!(ttl, Some(time.as_secs() as i32), "{table}");
    }
}
