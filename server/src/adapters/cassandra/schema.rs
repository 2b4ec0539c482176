//! The GeoDB schema, exactly as the Palomar documentation gives it (column names, types and
//! keys: Dovecot's proxies and backends read these tables), plus the controller's own tables,
//! which all start with `controller_` so they stay apart from Dovecot's.

/// The ten Dovecot tables, verbatim from the seed document. `{ks}` is the keyspace.
pub const GEODB_TABLES: [&str; 10] = [
    "create table if not exists {ks}.tags (
id uuid,
tag text,
primary key ((id))
)",
    "create table if not exists {ks}.sites (
id uuid,
name text,
tag uuid,
load_balancer text,
status text,
primary key ((id))
)",
    "create table if not exists {ks}.site_reachability (
src_site_id uuid,
dest_site_id uuid,
reachable int,
primary key ((src_site_id), dest_site_id)
)",
    "create table if not exists {ks}.backends (
id uuid,
site_id uuid,
load_factor int,
host text,
status text,
status_reason text,
last_moved_from text,
last_moved_to text,
primary key ((site_id), id)
)",
    "create table if not exists {ks}.backend_stats (
site_id uuid,
id uuid,
key text,
value double,
type text,
primary key ((site_id), id, key)
)",
    "create table if not exists {ks}.proxy_dest_stats (
proxy_site_id uuid,
proxy_host text,
dest_host text,
key text,
value double,
type text,
primary key ((proxy_site_id), dest_host, proxy_host, key)
)",
    "create table if not exists {ks}.user_groups (
name text,
site_id uuid,
backend_id uuid,
alt_backend_id uuid,
sticky_users int,
moving text,
refresh_after timestamp,
sticky_backend int,
primary key ((site_id), name),
)",
    "create table if not exists {ks}.group_sites (
group_name text,
site_id uuid,
status text,
failover_site_id uuid,
last_update timestamp,
primary key ((group_name), site_id),
)",
    "create table if not exists {ks}.users (
username text,
preferred_site_id uuid,
group_name text,
failover_site_group_name text,
metacache_last_host text,
moving_preferred_site_id uuid,
moving_group_name text,
moving_failover_site_group_name text,
last_update timestamp,
primary key ((username))
)",
    "create table if not exists {ks}.cluster_settings (
section text,
site_id uuid,
backend_id uuid,
setting_name text,
setting_value text,
primary key ((section), site_id, backend_id, setting_name),
)",
];

/// The controller's own tables.
pub const CONTROLLER_TABLES: [&str; 13] = [
    // Group membership as the censuses recorded it (each writes only the changes since the
    // previous one); rows of users who left are deleted when a listing finds them stale. It
    // replaces `controller_group_members`, whose rows older versions rewrote with a TTL at
    // every census: a table of its own, so that an older instance still running during an
    // upgrade cannot put a TTL on rows that this version writes only once. Drop the old table
    // once no older version runs (its rows expire by themselves).
    "create table if not exists {ks}.controller_group_roster (
site_id uuid,
group_name text,
username text,
primary key ((site_id, group_name), username)
)",
    // Marks of the census: `group_members_synced` is when the census that last recorded every
    // membership change in `controller_group_roster` began (the GeoDB's clock), so the next one
    // writes only later changes.
    "create table if not exists {ks}.controller_census_marks (
name text,
at timestamp,
primary key ((name))
)",
    // Mutual exclusion for changes that check many rows first (the last enabled admin).
    "create table if not exists {ks}.controller_locks (
name text,
holder uuid,
primary key ((name))
)",
    "create table if not exists {ks}.controller_operators (
username text,
role text,
password_hash text,
disabled boolean,
created_at timestamp,
primary key ((username))
)",
    // API tokens, by id; only a hash of each secret. A row outlives its token's expiry by the
    // TTL its writer gives, so that a page can still say it expired.
    "create table if not exists {ks}.controller_api_tokens (
id uuid,
owner text,
role text,
name text,
secret_hash text,
created_by text,
created_at timestamp,
expires_at timestamp,
revoked boolean,
primary key ((id))
)",
    // Revocation: a new epoch ends every session an operator has open. A table of its own so
    // that the operators table needs no change on existing clusters.
    "create table if not exists {ks}.controller_operator_sessions (
username text,
epoch uuid,
primary key ((username))
)",
    // One partition per UTC day keeps partitions bounded; newest first within a day.
    "create table if not exists {ks}.controller_audit_log (
day text,
at timestamp,
id uuid,
operator text,
client_ip text,
user_agent text,
action text,
target text,
before text,
after text,
token_id uuid,
primary key ((day), at, id)
) with clustering order by (at desc, id asc)",
    // The API token behind a record (`token_id`), on clusters whose audit log predates tokens.
    "alter table {ks}.controller_audit_log add if not exists token_id uuid",
    // Decisions with their inputs (JSON in `body`), one partition per site and UTC day,
    // kept 90 days.
    "create table if not exists {ks}.controller_decisions (
site_id uuid,
day text,
at timestamp,
id uuid,
feature text,
mode text,
outcome text,
summary text,
body text,
primary key ((site_id, day), at, id)
) with clustering order by (at desc, id asc) and default_time_to_live = 7776000",
    // Every supervised move, newest first, kept 90 days.
    "create table if not exists {ks}.controller_moves (
site_id uuid,
created_at timestamp,
id uuid,
group_name text,
state text,
body text,
primary key ((site_id), created_at, id)
) with clustering order by (created_at desc, id asc) and default_time_to_live = 7776000",
    // The moves being supervised now: small, read every supervision pass.
    "create table if not exists {ks}.controller_active_moves (
site_id uuid,
id uuid,
body text,
primary key ((site_id), id)
)",
    // Users per backend as the census counted them, about once an hour (the users-per-backend
    // chart): one partition per backend, oldest first, kept 35 days (CENSUS_HISTORY_KEPT).
    "create table if not exists {ks}.controller_backend_users (
site_id uuid,
backend_id uuid,
taken_at timestamp,
users bigint,
primary key ((site_id, backend_id), taken_at)
) with default_time_to_live = 3024000",
    // Replays with their results (JSON in `body`), one partition each, kept 7 days
    // (RUN_KEPT): long enough to share a link.
    "create table if not exists {ks}.controller_replays (
site_id uuid,
id uuid,
status text,
body text,
primary key ((site_id, id))
) with default_time_to_live = 604800",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_users_history_lives_as_long_as_the_port_says() {
        let table = CONTROLLER_TABLES.iter().find(|t| t.contains(".controller_backend_users ")).copied();
        let ttl = format!("default_time_to_live = {}", palomar_core::ports::CENSUS_HISTORY_KEPT.as_secs());
        assert!(table.is_some_and(|t| t.ends_with(&ttl)), "{table:?} should end with {ttl}");
    }

    #[test]
    fn replays_live_as_long_as_the_domain_says() {
        let table = CONTROLLER_TABLES.iter().find(|t| t.contains(".controller_replays ")).copied();
        let ttl = format!("default_time_to_live = {}", domain::replay::RUN_KEPT.as_secs());
        assert!(table.is_some_and(|t| t.ends_with(&ttl)), "{table:?} should end with {ttl}");
    }
}
