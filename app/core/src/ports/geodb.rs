//! The GeoDB port: Dovecot's shared GeoDB (`d8s_cluster`), one trait per table area, and
//! [`GeoDb`], every area at once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    geodb::{
        Backend, BackendStat, BackendStatus, ClusterSetting, GroupBackend, GroupSite, Membership, MoveSide,
        ProxyDestStat, Reachability, ReachabilityTime, StickyWrite, User, UserGroup, UserMove,
    },
    Page, PageRequest, Site, Tag,
};
use futures::stream::BoxStream;
use uuid::Uuid;

use super::StoreError;

/// Dovecot's shared GeoDB (`d8s_cluster`). Every list is paged; no call reads a table whole.
///
/// Its methods are split by table area: [`TagTable`] (`tags`), [`SiteTable`] (`sites`),
/// [`BackendTable`] (`backends`), [`GroupTable`] (`user_groups`), [`UserTable`] (`users` and the
/// store's clock), [`SettingTable`] (`cluster_settings`) and [`StatTables`]
/// (`site_reachability`, `group_sites`, `backend_stats`, `proxy_dest_stats`). Whatever
/// implements every area is a `GeoDb`; code that needs one area only may take that trait.
pub trait GeoDb:
    TagTable + SiteTable + BackendTable + GroupTable + UserTable + SettingTable + StatTables + Send + Sync + 'static
{
}

impl<T> GeoDb for T where
    T: TagTable + SiteTable + BackendTable + GroupTable + UserTable + SettingTable + StatTables + Send + Sync + 'static
{
}

/// The GeoDB's `tags` table.
#[async_trait]
pub trait TagTable: Send + Sync + 'static {
    async fn list_tags(&self, page: PageRequest) -> Result<Page<Tag>, StoreError>;
    async fn get_tag(&self, id: Uuid) -> Result<Option<Tag>, StoreError>;
    /// Writes a whole row: for writers that own the row (seeding). An operator's change is one
    /// of the conditional writes below.
    async fn put_tag(&self, tag: &Tag) -> Result<(), StoreError>;
    /// Writes `tag` only if its row is still `seen`, or with `None` only if there is no row
    /// with its id. Returns whether it was written.
    async fn write_tag(&self, seen: Option<&Tag>, tag: &Tag) -> Result<bool, StoreError>;
    /// Deletes a tag only if its row is still `seen`. Returns whether it was deleted.
    async fn remove_tag(&self, seen: &Tag) -> Result<bool, StoreError>;
}

/// The GeoDB's `sites` table.
#[async_trait]
pub trait SiteTable: Send + Sync + 'static {
    async fn list_sites(&self, page: PageRequest) -> Result<Page<Site>, StoreError>;
    async fn get_site(&self, id: Uuid) -> Result<Option<Site>, StoreError>;
    /// Writes a whole row: for writers that own the row (seeding). An operator's change is one
    /// of the conditional writes below.
    async fn put_site(&self, site: &Site) -> Result<(), StoreError>;
    /// Writes `site` only if its row is still `seen` (every column), or with `None` only if
    /// there is no row with its id. Returns whether it was written.
    async fn write_site(&self, seen: Option<&Site>, site: &Site) -> Result<bool, StoreError>;
    /// Deletes a site only if its row is still `seen`. Returns whether it was deleted.
    async fn remove_site(&self, seen: &Site) -> Result<bool, StoreError>;
}

/// The GeoDB's `backends` table (one partition per site), with its conditional column updates.
#[async_trait]
pub trait BackendTable: Send + Sync + 'static {
    /// One site's backends (one partition).
    async fn list_backends(&self, site_id: Uuid, page: PageRequest) -> Result<Page<Backend>, StoreError>;
    async fn get_backend(&self, site_id: Uuid, id: Uuid) -> Result<Option<Backend>, StoreError>;
    /// Writes a whole row: for new backends and for writers that own the row (seeding, the
    /// simulator). Changes to an existing backend use the conditional column updates below.
    async fn put_backend(&self, backend: &Backend) -> Result<(), StoreError>;
    /// Adds a backend only if there is no row with its id. Returns whether it was written.
    async fn add_backend(&self, backend: &Backend) -> Result<bool, StoreError>;
    /// Sets a backend's load factor only if it is still `seen`. Returns whether it was applied.
    async fn set_backend_load_factor(
        &self,
        site_id: Uuid,
        id: Uuid,
        seen: i32,
        load_factor: i32,
    ) -> Result<bool, StoreError>;
    /// Sets a backend's status, reason and load factor to `wanted`'s in one write, only if its
    /// status and load factor are still `seen`'s (the row as read). Returns whether it was applied.
    async fn set_backend_state(&self, seen: &Backend, wanted: &Backend) -> Result<bool, StoreError>;
    /// Sets a backend's status and reason only if its status is still `expected` (a
    /// lightweight transaction in Cassandra), so the controller never overwrites a change made
    /// since it looked. Returns whether it was applied.
    async fn set_backend_status(
        &self,
        site_id: Uuid,
        id: Uuid,
        expected: &BackendStatus,
        status: &BackendStatus,
        reason: &str,
    ) -> Result<bool, StoreError>;
    /// Sets one of a backend's `last_moved_*` columns to `at`, only if it still holds `seen`
    /// (empty matches null too). Returns whether it was applied.
    async fn note_backend_move(
        &self,
        site_id: Uuid,
        id: Uuid,
        side: MoveSide,
        seen: &str,
        at: &str,
    ) -> Result<bool, StoreError>;
    async fn delete_backend(&self, site_id: Uuid, id: Uuid) -> Result<(), StoreError>;
}

/// The GeoDB's `user_groups` table (one partition per site), with a move's start and end as
/// conditional writes.
#[async_trait]
pub trait GroupTable: Send + Sync + 'static {
    /// One site's groups (one partition), in name order.
    async fn list_groups(&self, site_id: Uuid, page: PageRequest) -> Result<Page<UserGroup>, StoreError>;
    /// Every site's groups with their backend, for censuses only: the whole `user_groups`
    /// table in batches of bounded size (larger than a page), in no particular order.
    fn scan_group_backends(&self) -> BoxStream<'_, Result<Vec<GroupBackend>, StoreError>>;
    async fn get_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError>;
    /// Writes a whole row: for writers that own the row (seeding, the simulator).
    async fn put_group(&self, group: &UserGroup) -> Result<(), StoreError>;
    /// Writes new groups' rows, many at once (Cassandra: unlogged batches of one site's
    /// partition, several in flight): for seeding. As with [`UserTable::put_users`], a `None` or
    /// empty column is not written, so over an existing row it keeps its value. Pass a bounded
    /// number (a few thousand at most); the writes are not atomic.
    async fn put_groups(&self, groups: &[UserGroup]) -> Result<(), StoreError>;
    /// Creates a group only if there is none of that name in the site. Returns whether it did.
    async fn create_group(&self, group: &UserGroup) -> Result<bool, StoreError>;
    /// Writes the sticky flags `write` gives, only if the group has a backend and each of them
    /// still holds its seen value; a flag not given, and the rest of the row, is neither compared
    /// nor written. Returns whether it was applied (a write of no flag is not).
    async fn set_group_sticky(&self, site_id: Uuid, name: &str, write: StickyWrite) -> Result<bool, StoreError>;
    /// Points a group's alternative backend at `alt`, only if the group has a backend, is not
    /// moving, and its alternative is still `seen`. Returns whether it was applied.
    async fn set_group_alt(&self, site_id: Uuid, name: &str, seen: Option<Uuid>, alt: Uuid)
        -> Result<bool, StoreError>;
    /// Starts a move only if the group exists with a backend and is not moving (`moving` null
    /// or empty): a lightweight transaction in Cassandra. Returns whether it was applied.
    async fn start_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        destination: Uuid,
        token: &str,
    ) -> Result<bool, StoreError>;
    /// Ends a move only if the group's `moving` is still `token`: sets `backend_id` and
    /// `alt_backend_id`, clears `moving` and sets `refresh_after` to `now` (a Cassandra
    /// lightweight transaction). Forcing passes the destination, cancelling the source.
    /// Returns whether it was applied.
    async fn end_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        token: &str,
        backend_id: Uuid,
        alt_backend_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The GeoDB's `users` table and the store's clock.
///
/// [`UserTable::store_time`] is here because it is the clock of this table's write times: it
/// is only meaningful against [`Membership::written_at`], which [`UserTable::scan_memberships`]
/// and [`UserTable::get_memberships`] give, and every caller reads it together with them.
#[async_trait]
pub trait UserTable: Send + Sync + 'static {
    /// Every user's [`Membership`], for censuses only: the whole `users` table read once, in
    /// batches of bounded size and in no particular order (Cassandra: token ranges scanned in
    /// parallel, paged). Every user present for the whole scan comes exactly once; a failure
    /// ends the stream with the error.
    fn scan_memberships(&self) -> BoxStream<'_, Result<Vec<Membership>, StoreError>>;
    /// The memberships of these users (those that exist), as [`UserTable::scan_memberships`]
    /// gives them. For a page's worth of names.
    async fn get_memberships(&self, usernames: &[String]) -> Result<Vec<Membership>, StoreError>;
    /// The store's clock, the one that [`Membership::written_at`] is on (Cassandra: a
    /// coordinator's `now()`, milliseconds).
    async fn store_time(&self) -> Result<DateTime<Utc>, StoreError>;
    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Writes a whole row: for writers that own the row (seeding, the simulator).
    async fn put_user(&self, user: &User) -> Result<(), StoreError>;
    /// Writes new users' rows, many at once (Cassandra: unlogged batches, several in flight):
    /// for seeding. Unlike [`UserTable::put_user`], a `None` or empty column is not written (no
    /// tombstone and no empty cell in a new row), so over an existing row it keeps its value. Pass a bounded number (a few
    /// thousand at most); the writes are not atomic.
    async fn put_users(&self, users: &[User]) -> Result<(), StoreError>;
    /// Starts a user move (the `moving_*` columns and `last_update`) only if the user's group
    /// and pending move are still what `seen` holds. Returns whether it was applied.
    async fn start_user_move(&self, seen: &User, to: &UserMove) -> Result<bool, StoreError>;
    /// Moves a user at once (a force-move at their login): sets `preferred_site_id`,
    /// `group_name`, `failover_site_group_name` and `last_update` to `to`'s, only if their site
    /// and group are still `seen`'s and no user move is pending. Returns whether it was applied.
    async fn relocate_user(&self, seen: &User, to: &UserMove) -> Result<bool, StoreError>;
    async fn delete_user(&self, username: &str) -> Result<(), StoreError>;
}

/// The GeoDB's `cluster_settings` table (one partition per section).
#[async_trait]
pub trait SettingTable: Send + Sync + 'static {
    /// One section of `cluster_settings` (one partition).
    async fn list_settings(&self, section: &str, page: PageRequest) -> Result<Page<ClusterSetting>, StoreError>;
    /// One row of `cluster_settings`, by its key (`setting_value` ignored).
    async fn get_setting(&self, key: &ClusterSetting) -> Result<Option<ClusterSetting>, StoreError>;
    /// Writes a whole row: for writers that own the row (seeding, tests). An operator's change is
    /// one of the conditional writes below.
    async fn put_setting(&self, setting: &ClusterSetting) -> Result<(), StoreError>;
    /// Writes `setting` only if its row still holds `seen`'s value, or with `None` only if
    /// there is no such row. Returns whether it was written.
    async fn write_setting(&self, seen: Option<&ClusterSetting>, setting: &ClusterSetting) -> Result<bool, StoreError>;
    /// Deletes a setting only if its row still holds `seen`'s value. Returns whether it was deleted.
    async fn remove_setting(&self, seen: &ClusterSetting) -> Result<bool, StoreError>;
}

/// The GeoDB's status and statistics tables: `site_reachability`, `group_sites`,
/// `backend_stats` and `proxy_dest_stats`.
#[async_trait]
pub trait StatTables: Send + Sync + 'static {
    /// The whole `site_reachability` table (sites × sites: small).
    async fn list_reachability(&self, page: PageRequest) -> Result<Page<Reachability>, StoreError>;
    async fn put_reachability(&self, row: &Reachability) -> Result<(), StoreError>;
    /// When each `site_reachability` row's value was last written (sites × sites: small).
    async fn reachability_times(&self) -> Result<Vec<ReachabilityTime>, StoreError>;
    /// Writes a reachability row only if it is still as read (`seen`; `None`: no row).
    /// Returns whether it was written.
    async fn write_reachability(&self, seen: Option<&Reachability>, row: &Reachability) -> Result<bool, StoreError>;
    /// One group's `group_sites` rows (one partition).
    async fn list_group_sites(&self, group_name: &str) -> Result<Vec<GroupSite>, StoreError>;
    async fn put_group_site(&self, row: &GroupSite) -> Result<(), StoreError>;
    /// One site's `backend_stats` (one partition).
    async fn list_backend_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<BackendStat>, StoreError>;
    async fn put_backend_stat(&self, row: &BackendStat) -> Result<(), StoreError>;
    /// One site's `proxy_dest_stats` (one partition).
    async fn list_proxy_dest_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<ProxyDestStat>, StoreError>;
    async fn put_proxy_dest_stat(&self, row: &ProxyDestStat) -> Result<(), StoreError>;
    /// Removes one proxy's rows for one destination.
    async fn delete_proxy_dest_stats(&self, site_id: Uuid, dest_host: &str, proxy_host: &str)
        -> Result<(), StoreError>;
}
