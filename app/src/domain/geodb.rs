//! Rows of the GeoDB tables that Dovecot reads and writes, beyond sites and tags.
//! Column names and meanings follow the seed schema exactly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A row of `backends`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    pub site_id: Uuid,
    pub id: Uuid,
    /// 0..100; 0 means drain.
    pub load_factor: i32,
    /// Equals `cluster_backend_name` on the backend.
    pub host: String,
    /// online, offline or standby (kept as written).
    pub status: String,
    pub status_reason: String,
    pub last_moved_from: String,
    pub last_moved_to: String,
}

/// A row of `user_groups`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroup {
    pub site_id: Uuid,
    pub name: String,
    pub backend_id: Option<Uuid>,
    pub alt_backend_id: Option<Uuid>,
    pub sticky_users: i32,
    /// Non-empty while the group is moving.
    pub moving: String,
    pub refresh_after: Option<DateTime<Utc>>,
    pub sticky_backend: i32,
}

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub preferred_site_id: Option<Uuid>,
    pub group_name: String,
    pub failover_site_group_name: String,
    pub metacache_last_host: String,
    pub moving_preferred_site_id: Option<Uuid>,
    pub moving_group_name: String,
    pub moving_failover_site_group_name: String,
    pub last_update: Option<DateTime<Utc>>,
}

/// How many backends, groups and users a site has, for the overview.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteCounts {
    pub backends: u64,
    pub groups: u64,
}

/// A row of `cluster_settings`. A nil `site_id`/`backend_id` means "all".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSetting {
    pub section: String,
    pub site_id: Uuid,
    pub backend_id: Uuid,
    pub setting_name: String,
    pub setting_value: String,
}

/// A row of `site_reachability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reachability {
    pub src_site_id: Uuid,
    pub dest_site_id: Uuid,
    pub reachable: i32,
}

/// A row of `group_sites`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSite {
    pub group_name: String,
    pub site_id: Uuid,
    pub status: String,
    pub failover_site_id: Option<Uuid>,
    pub last_update: Option<DateTime<Utc>>,
}

/// A row of `backend_stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendStat {
    pub site_id: Uuid,
    pub id: Uuid,
    pub key: String,
    pub value: f64,
    pub kind: String,
}

/// A row of `proxy_dest_stats`, written by the proxies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyDestStat {
    pub proxy_site_id: Uuid,
    pub dest_host: String,
    pub proxy_host: String,
    pub key: String,
    pub value: f64,
    pub kind: String,
}
