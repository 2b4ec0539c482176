//! Rows of the GeoDB tables that Dovecot reads and writes, beyond sites and tags.
//! Column names and meanings follow the seed schema exactly.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{closed_set::closed_set, AppError};

/// `backends.status`. Dovecot writes this column too, so a value this version does not know
/// is kept as it is (and treated as not accepting sessions). Stored and sent as its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum BackendStatus {
    /// Takes sessions.
    Online,
    /// Takes no sessions; its groups go to their alternative backend.
    Offline,
    /// Reachable but takes no new sessions (new and evacuated backends).
    Standby,
    /// A value written by someone else that this version does not know.
    Other(String),
}

closed_set! {
    /// The statuses an operator may set on a backend.
    pub enum SettableStatus("status", "status") {
        Online = "online",
        Offline = "offline",
        Standby = "standby",
    }
}

impl From<SettableStatus> for BackendStatus {
    fn from(status: SettableStatus) -> Self {
        match status {
            SettableStatus::Online => BackendStatus::Online,
            SettableStatus::Offline => BackendStatus::Offline,
            SettableStatus::Standby => BackendStatus::Standby,
        }
    }
}

impl BackendStatus {
    pub fn as_str(&self) -> &str {
        match self {
            BackendStatus::Online => "online",
            BackendStatus::Offline => "offline",
            BackendStatus::Standby => "standby",
            BackendStatus::Other(raw) => raw,
        }
    }

    /// Reads a stored value, keeping unknown ones.
    pub fn from_stored(raw: &str) -> Self {
        raw.parse().unwrap_or_else(|_| BackendStatus::Other(raw.to_string()))
    }
}

impl fmt::Display for BackendStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackendStatus {
    type Err = AppError;

    /// Parses operator input: only the statuses an operator may set.
    fn from_str(s: &str) -> Result<Self, AppError> {
        s.parse::<SettableStatus>().map(BackendStatus::from)
    }
}

impl From<String> for BackendStatus {
    fn from(raw: String) -> Self {
        BackendStatus::from_stored(&raw)
    }
}

impl From<&str> for BackendStatus {
    fn from(raw: &str) -> Self {
        BackendStatus::from_stored(raw)
    }
}

impl From<BackendStatus> for String {
    fn from(status: BackendStatus) -> Self {
        status.as_str().to_string()
    }
}

/// A row of `backends`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    pub site_id: Uuid,
    pub id: Uuid,
    /// 0..100; 0 means drain.
    pub load_factor: i32,
    /// Equals `cluster_backend_name` on the backend.
    pub host: String,
    pub status: BackendStatus,
    pub status_reason: String,
    pub last_moved_from: String,
    pub last_moved_to: String,
}

/// Which of a backend's `last_moved_*` columns a move touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveSide {
    /// `last_moved_from`: a group left this backend.
    From,
    /// `last_moved_to`: a group came to this backend.
    To,
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

impl UserGroup {
    /// Any non-empty `moving` means a move is in progress.
    pub fn is_moving(&self) -> bool {
        !self.moving.is_empty()
    }

    /// The running move's token, if one runs.
    pub fn moving_token(&self) -> Option<&str> {
        self.is_moving().then_some(self.moving.as_str())
    }

    /// Users stay in this group: group-size balancing leaves it alone.
    pub fn has_sticky_users(&self) -> bool {
        self.sticky_users != 0
    }

    /// The group stays on its backend: load balancing leaves it alone.
    pub fn has_sticky_backend(&self) -> bool {
        self.sticky_backend != 0
    }
}

/// One sticky flag in a write: the value its writer read and the value it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagWrite {
    pub seen: bool,
    pub wanted: bool,
}

/// A conditional write of a group's sticky flags. A flag given is written only if the row still
/// holds the value its writer read; a flag not given is neither compared nor written, so two
/// writers of different flags never undo each other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StickyWrite {
    pub sticky_users: Option<FlagWrite>,
    pub sticky_backend: Option<FlagWrite>,
}

impl StickyWrite {
    pub fn is_empty(&self) -> bool {
        self.sticky_users.is_none() && self.sticky_backend.is_none()
    }

    /// Whether `group` still holds every seen flag.
    pub fn holds_seen(&self, group: &UserGroup) -> bool {
        let holds = |flag: Option<FlagWrite>, column: i32| flag.is_none_or(|f| (column != 0) == f.seen);
        holds(self.sticky_users, group.sticky_users) && holds(self.sticky_backend, group.sticky_backend)
    }

    /// `group` with the wanted flags.
    pub fn wanted_on(&self, group: &UserGroup) -> UserGroup {
        let wanted = |flag: Option<FlagWrite>, column: i32| flag.map_or(column, |f| i32::from(f.wanted));
        UserGroup {
            sticky_users: wanted(self.sticky_users, group.sticky_users),
            sticky_backend: wanted(self.sticky_backend, group.sticky_backend),
            ..group.clone()
        }
    }
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

/// What the census reads of a `user_groups` row: which backend the group is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupBackend {
    pub site_id: Uuid,
    pub name: String,
    pub backend_id: Option<Uuid>,
}

/// What the census reads of a `users` row: the user's site and group, and when either was
/// last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub username: String,
    pub preferred_site_id: Option<Uuid>,
    pub group_name: String,
    /// The later of the write times of `preferred_site_id` and `group_name` (Cassandra's
    /// `WRITETIME`, on the store's clock); `None` when both are null.
    pub written_at: Option<DateTime<Utc>>,
}

impl Membership {
    /// The group the user counts in: their preferred site's `group_name`, if they have a site.
    pub fn group_key(&self) -> Option<(Uuid, &str)> {
        self.preferred_site_id.map(|site| (site, self.group_name.as_str()))
    }
}

/// The `moving_*` columns of a user move: where the user goes at their next access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMove {
    pub site_id: Uuid,
    pub group: String,
    pub failover_group: String,
    pub at: DateTime<Utc>,
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

/// When a `site_reachability` row's value was last written (Cassandra's `WRITETIME`, on the
/// store's clock): the matrix shows it as the time the value holds since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachabilityTime {
    pub src_site_id: Uuid,
    pub dest_site_id: Uuid,
    pub written_at: DateTime<Utc>,
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
