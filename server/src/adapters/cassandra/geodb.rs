use app::{
    domain::{
        geodb::{Backend, BackendStat, ClusterSetting, GroupSite, ProxyDestStat, Reachability, User, UserGroup},
        Page, PageRequest, Site, SiteStatus, Tag,
    },
    ports::{GeoDb, StoreError},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scylla::{
    client::session::Session,
    deserialize::row::DeserializeRow,
    serialize::row::SerializeRow,
    statement::prepared::PreparedStatement,
    DeserializeRow,
};
use uuid::Uuid;

use super::{next_cursor, page_error, paged, paging_state, prepare, unavailable, CassandraStore};

/// Every GeoDB statement, prepared once at start-up.
pub(super) struct Statements {
    list_tags: PreparedStatement,
    get_tag: PreparedStatement,
    put_tag: PreparedStatement,
    delete_tag: PreparedStatement,
    list_sites: PreparedStatement,
    get_site: PreparedStatement,
    put_site: PreparedStatement,
    delete_site: PreparedStatement,
    list_backends: PreparedStatement,
    put_backend: PreparedStatement,
    list_groups: PreparedStatement,
    get_group: PreparedStatement,
    put_group: PreparedStatement,
    list_users: PreparedStatement,
    get_user: PreparedStatement,
    put_user: PreparedStatement,
    get_backend: PreparedStatement,
    delete_backend: PreparedStatement,
    start_group_move: PreparedStatement,
    end_group_move: PreparedStatement,
    set_backend_status: PreparedStatement,
    delete_user: PreparedStatement,
    list_settings: PreparedStatement,
    put_setting: PreparedStatement,
    delete_setting: PreparedStatement,
    list_reachability: PreparedStatement,
    put_reachability: PreparedStatement,
    list_group_sites: PreparedStatement,
    put_group_site: PreparedStatement,
    list_backend_stats: PreparedStatement,
    put_backend_stat: PreparedStatement,
    list_proxy_dest_stats: PreparedStatement,
    put_proxy_dest_stat: PreparedStatement,
    delete_proxy_dest_stats: PreparedStatement,
}

const SITE_COLUMNS: &str = "id, name, tag, load_balancer, status";
const BACKEND_COLUMNS: &str = "site_id, id, load_factor, host, status, status_reason, last_moved_from, last_moved_to";
const GROUP_COLUMNS: &str = "site_id, name, backend_id, alt_backend_id, sticky_users, moving, refresh_after, sticky_backend";
const USER_COLUMNS: &str = "username, preferred_site_id, group_name, failover_site_group_name, metacache_last_host, \
     moving_preferred_site_id, moving_group_name, moving_failover_site_group_name, last_update";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            list_tags: prepare(session, ks, "SELECT id, tag FROM {ks}.tags").await?,
            get_tag: prepare(session, ks, "SELECT id, tag FROM {ks}.tags WHERE id = ?").await?,
            put_tag: prepare(session, ks, "INSERT INTO {ks}.tags (id, tag) VALUES (?, ?)").await?,
            delete_tag: prepare(session, ks, "DELETE FROM {ks}.tags WHERE id = ?").await?,
            list_sites: prepare(session, ks, &format!("SELECT {SITE_COLUMNS} FROM {{ks}}.sites")).await?,
            get_site: prepare(session, ks, &format!("SELECT {SITE_COLUMNS} FROM {{ks}}.sites WHERE id = ?")).await?,
            put_site: prepare(session, ks, &format!("INSERT INTO {{ks}}.sites ({SITE_COLUMNS}) VALUES (?, ?, ?, ?, ?)")).await?,
            delete_site: prepare(session, ks, "DELETE FROM {ks}.sites WHERE id = ?").await?,
            list_backends: prepare(session, ks, &format!("SELECT {BACKEND_COLUMNS} FROM {{ks}}.backends WHERE site_id = ?"))
                .await?,
            put_backend: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.backends ({BACKEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            )
            .await?,
            list_groups: prepare(session, ks, &format!("SELECT {GROUP_COLUMNS} FROM {{ks}}.user_groups WHERE site_id = ?"))
                .await?,
            get_group: prepare(
                session,
                ks,
                &format!("SELECT {GROUP_COLUMNS} FROM {{ks}}.user_groups WHERE site_id = ? AND name = ?"),
            )
            .await?,
            list_users: prepare(session, ks, &format!("SELECT {USER_COLUMNS} FROM {{ks}}.users")).await?,
            put_group: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.user_groups ({GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            )
            .await?,
            get_user: prepare(session, ks, &format!("SELECT {USER_COLUMNS} FROM {{ks}}.users WHERE username = ?")).await?,
            get_backend: prepare(session, ks, &format!("SELECT {BACKEND_COLUMNS} FROM {{ks}}.backends WHERE site_id = ? AND id = ?"))
                .await?,
            delete_backend: prepare(session, ks, "DELETE FROM {ks}.backends WHERE site_id = ? AND id = ?").await?,
            start_group_move: prepare(
                session,
                ks,
                "UPDATE {ks}.user_groups SET moving = ?, alt_backend_id = ? WHERE site_id = ? AND name = ? IF backend_id != null AND moving IN (null, '')",
            )
            .await?,
            end_group_move: prepare(
                session,
                ks,
                "UPDATE {ks}.user_groups SET backend_id = ?, alt_backend_id = ?, moving = null, refresh_after = ? WHERE site_id = ? AND name = ? IF moving = ?",
            )
            .await?,
            set_backend_status: prepare(
                session,
                ks,
                "UPDATE {ks}.backends SET status = ?, status_reason = ? WHERE site_id = ? AND id = ? IF status = ?",
            )
            .await?,
            delete_user: prepare(session, ks, "DELETE FROM {ks}.users WHERE username = ?").await?,
            list_settings: prepare(
                session,
                ks,
                "SELECT section, site_id, backend_id, setting_name, setting_value FROM {ks}.cluster_settings WHERE section = ?",
            )
            .await?,
            put_setting: prepare(
                session,
                ks,
                "INSERT INTO {ks}.cluster_settings (section, site_id, backend_id, setting_name, setting_value) VALUES (?, ?, ?, ?, ?)",
            )
            .await?,
            delete_setting: prepare(
                session,
                ks,
                "DELETE FROM {ks}.cluster_settings WHERE section = ? AND site_id = ? AND backend_id = ? AND setting_name = ?",
            )
            .await?,
            list_reachability: prepare(session, ks, "SELECT src_site_id, dest_site_id, reachable FROM {ks}.site_reachability").await?,
            put_reachability: prepare(
                session,
                ks,
                "INSERT INTO {ks}.site_reachability (src_site_id, dest_site_id, reachable) VALUES (?, ?, ?)",
            )
            .await?,
            list_group_sites: prepare(
                session,
                ks,
                "SELECT group_name, site_id, status, failover_site_id, last_update FROM {ks}.group_sites WHERE group_name = ?",
            )
            .await?,
            put_group_site: prepare(
                session,
                ks,
                "INSERT INTO {ks}.group_sites (group_name, site_id, status, failover_site_id, last_update) VALUES (?, ?, ?, ?, ?)",
            )
            .await?,
            list_backend_stats: prepare(session, ks, "SELECT site_id, id, key, value, type FROM {ks}.backend_stats WHERE site_id = ?")
                .await?,
            put_backend_stat: prepare(
                session,
                ks,
                "INSERT INTO {ks}.backend_stats (site_id, id, key, value, type) VALUES (?, ?, ?, ?, ?)",
            )
            .await?,
            list_proxy_dest_stats: prepare(
                session,
                ks,
                "SELECT proxy_site_id, dest_host, proxy_host, key, value, type FROM {ks}.proxy_dest_stats WHERE proxy_site_id = ?",
            )
            .await?,
            put_proxy_dest_stat: prepare(
                session,
                ks,
                "INSERT INTO {ks}.proxy_dest_stats (proxy_site_id, dest_host, proxy_host, key, value, type) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .await?,
            delete_proxy_dest_stats: prepare(
                session,
                ks,
                "DELETE FROM {ks}.proxy_dest_stats WHERE proxy_site_id = ? AND dest_host = ? AND proxy_host = ?",
            )
            .await?,
            put_user: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            )
            .await?,
        })
    }
}

#[derive(DeserializeRow)]
struct TagRow {
    id: Uuid,
    tag: Option<String>,
}

impl From<TagRow> for Tag {
    fn from(r: TagRow) -> Self {
        Tag { id: r.id, tag: r.tag.unwrap_or_default() }
    }
}

#[derive(DeserializeRow)]
struct SiteDbRow {
    id: Uuid,
    name: Option<String>,
    tag: Option<Uuid>,
    load_balancer: Option<String>,
    status: Option<String>,
}

impl From<SiteDbRow> for Site {
    fn from(r: SiteDbRow) -> Self {
        Site {
            id: r.id,
            name: r.name.unwrap_or_default(),
            tag: r.tag,
            load_balancer: r.load_balancer.unwrap_or_default(),
            status: SiteStatus::from_stored(&r.status.unwrap_or_default()),
        }
    }
}

#[derive(DeserializeRow)]
struct BackendRow {
    site_id: Uuid,
    id: Uuid,
    load_factor: Option<i32>,
    host: Option<String>,
    status: Option<String>,
    status_reason: Option<String>,
    last_moved_from: Option<String>,
    last_moved_to: Option<String>,
}

impl From<BackendRow> for Backend {
    fn from(r: BackendRow) -> Self {
        Backend {
            site_id: r.site_id,
            id: r.id,
            load_factor: r.load_factor.unwrap_or_default(),
            host: r.host.unwrap_or_default(),
            status: r.status.unwrap_or_default(),
            status_reason: r.status_reason.unwrap_or_default(),
            last_moved_from: r.last_moved_from.unwrap_or_default(),
            last_moved_to: r.last_moved_to.unwrap_or_default(),
        }
    }
}

#[derive(DeserializeRow)]
struct GroupRow {
    site_id: Uuid,
    name: String,
    backend_id: Option<Uuid>,
    alt_backend_id: Option<Uuid>,
    sticky_users: Option<i32>,
    moving: Option<String>,
    refresh_after: Option<DateTime<Utc>>,
    sticky_backend: Option<i32>,
}

impl From<GroupRow> for UserGroup {
    fn from(r: GroupRow) -> Self {
        UserGroup {
            site_id: r.site_id,
            name: r.name,
            backend_id: r.backend_id,
            alt_backend_id: r.alt_backend_id,
            sticky_users: r.sticky_users.unwrap_or_default(),
            moving: r.moving.unwrap_or_default(),
            refresh_after: r.refresh_after,
            sticky_backend: r.sticky_backend.unwrap_or_default(),
        }
    }
}

#[derive(DeserializeRow)]
struct UserRow {
    username: String,
    preferred_site_id: Option<Uuid>,
    group_name: Option<String>,
    failover_site_group_name: Option<String>,
    metacache_last_host: Option<String>,
    moving_preferred_site_id: Option<Uuid>,
    moving_group_name: Option<String>,
    moving_failover_site_group_name: Option<String>,
    last_update: Option<DateTime<Utc>>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            username: r.username,
            preferred_site_id: r.preferred_site_id,
            group_name: r.group_name.unwrap_or_default(),
            failover_site_group_name: r.failover_site_group_name.unwrap_or_default(),
            metacache_last_host: r.metacache_last_host.unwrap_or_default(),
            moving_preferred_site_id: r.moving_preferred_site_id,
            moving_group_name: r.moving_group_name.unwrap_or_default(),
            moving_failover_site_group_name: r.moving_failover_site_group_name.unwrap_or_default(),
            last_update: r.last_update,
        }
    }
}

#[derive(DeserializeRow)]
struct SettingRow {
    section: String,
    site_id: Uuid,
    backend_id: Uuid,
    setting_name: String,
    setting_value: Option<String>,
}

impl From<SettingRow> for ClusterSetting {
    fn from(r: SettingRow) -> Self {
        ClusterSetting {
            section: r.section,
            site_id: r.site_id,
            backend_id: r.backend_id,
            setting_name: r.setting_name,
            setting_value: r.setting_value.unwrap_or_default(),
        }
    }
}

#[derive(DeserializeRow)]
struct ReachabilityRow {
    src_site_id: Uuid,
    dest_site_id: Uuid,
    reachable: Option<i32>,
}

impl From<ReachabilityRow> for Reachability {
    fn from(r: ReachabilityRow) -> Self {
        Reachability { src_site_id: r.src_site_id, dest_site_id: r.dest_site_id, reachable: r.reachable.unwrap_or_default() }
    }
}

#[derive(DeserializeRow)]
struct GroupSiteRow {
    group_name: String,
    site_id: Uuid,
    status: Option<String>,
    failover_site_id: Option<Uuid>,
    last_update: Option<DateTime<Utc>>,
}

impl From<GroupSiteRow> for GroupSite {
    fn from(r: GroupSiteRow) -> Self {
        GroupSite {
            group_name: r.group_name,
            site_id: r.site_id,
            status: r.status.unwrap_or_default(),
            failover_site_id: r.failover_site_id,
            last_update: r.last_update,
        }
    }
}

#[derive(DeserializeRow)]
struct BackendStatRow {
    site_id: Uuid,
    id: Uuid,
    key: String,
    value: Option<f64>,
    r#type: Option<String>,
}

impl From<BackendStatRow> for BackendStat {
    fn from(r: BackendStatRow) -> Self {
        BackendStat { site_id: r.site_id, id: r.id, key: r.key, value: r.value.unwrap_or_default(), kind: r.r#type.unwrap_or_default() }
    }
}

#[derive(DeserializeRow)]
struct ProxyDestStatRow {
    proxy_site_id: Uuid,
    dest_host: String,
    proxy_host: String,
    key: String,
    value: Option<f64>,
    r#type: Option<String>,
}

impl From<ProxyDestStatRow> for ProxyDestStat {
    fn from(r: ProxyDestStatRow) -> Self {
        ProxyDestStat {
            proxy_site_id: r.proxy_site_id,
            dest_host: r.dest_host,
            proxy_host: r.proxy_host,
            key: r.key,
            value: r.value.unwrap_or_default(),
            kind: r.r#type.unwrap_or_default(),
        }
    }
}

/// Whether a lightweight transaction was applied: the first column of its answer.
fn applied(result: scylla::response::query_result::QueryResult) -> Result<bool, StoreError> {
    let rows = result.into_rows_result().map_err(corrupt)?;
    let first = rows.maybe_first_row::<scylla::value::Row>().map_err(corrupt)?;
    Ok(matches!(first.and_then(|row| row.columns.into_iter().next().flatten()), Some(scylla::value::CqlValue::Boolean(true))))
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

impl CassandraStore {
    /// Reads one page of `statement`'s rows.
    pub(super) async fn list<R, T>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
        request: &PageRequest,
    ) -> Result<Page<T>, StoreError>
    where
        R: for<'frame> DeserializeRow<'frame, 'frame> + Into<T>,
    {
        let state = paging_state(request.cursor.as_deref())?;
        let (result, response) = self
            .session
            .execute_single_page(&paged(statement, request.limit), values, state)
            .await
            .map_err(page_error(request.cursor.is_some()))?;
        let rows = result.into_rows_result().map_err(corrupt)?;
        let items = rows.rows::<R>().map_err(corrupt)?.map(|row| row.map(Into::into).map_err(corrupt)).collect::<Result<_, _>>()?;
        Ok(Page { items, next: next_cursor(response) })
    }

    /// Reads the single row `statement` selects, if any.
    pub(super) async fn one<R, T>(&self, statement: &PreparedStatement, values: impl SerializeRow) -> Result<Option<T>, StoreError>
    where
        R: for<'frame> DeserializeRow<'frame, 'frame> + Into<T>,
    {
        let result = self.session.execute_unpaged(statement, values).await.map_err(unavailable)?;
        let rows = result.into_rows_result().map_err(corrupt)?;
        Ok(rows.maybe_first_row::<R>().map_err(corrupt)?.map(Into::into))
    }

    pub(super) async fn write(&self, statement: &PreparedStatement, values: impl SerializeRow) -> Result<(), StoreError> {
        self.session.execute_unpaged(statement, values).await.map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl GeoDb for CassandraStore {
    async fn list_tags(&self, page: PageRequest) -> Result<Page<Tag>, StoreError> {
        self.list::<TagRow, _>(&self.statements.list_tags, (), &page).await
    }

    async fn get_tag(&self, id: Uuid) -> Result<Option<Tag>, StoreError> {
        self.one::<TagRow, _>(&self.statements.get_tag, (id,)).await
    }

    async fn put_tag(&self, tag: &Tag) -> Result<(), StoreError> {
        self.write(&self.statements.put_tag, (tag.id, &tag.tag)).await
    }

    async fn delete_tag(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(&self.statements.delete_tag, (id,)).await
    }

    async fn list_sites(&self, page: PageRequest) -> Result<Page<Site>, StoreError> {
        self.list::<SiteDbRow, _>(&self.statements.list_sites, (), &page).await
    }

    async fn get_site(&self, id: Uuid) -> Result<Option<Site>, StoreError> {
        self.one::<SiteDbRow, _>(&self.statements.get_site, (id,)).await
    }

    async fn put_site(&self, site: &Site) -> Result<(), StoreError> {
        let values = (site.id, &site.name, site.tag, &site.load_balancer, site.status.as_str());
        self.write(&self.statements.put_site, values).await
    }

    async fn delete_site(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(&self.statements.delete_site, (id,)).await
    }

    async fn list_backends(&self, site_id: Uuid, page: PageRequest) -> Result<Page<Backend>, StoreError> {
        self.list::<BackendRow, _>(&self.statements.list_backends, (site_id,), &page).await
    }

    async fn get_backend(&self, site_id: Uuid, id: Uuid) -> Result<Option<Backend>, StoreError> {
        self.one::<BackendRow, _>(&self.statements.get_backend, (site_id, id)).await
    }

    async fn delete_backend(&self, site_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        self.write(&self.statements.delete_backend, (site_id, id)).await
    }

    async fn start_group_move(&self, site_id: Uuid, name: &str, destination: Uuid, token: &str) -> Result<bool, StoreError> {
        let result = self
            .session
            .execute_unpaged(&self.statements.start_group_move, (token, destination, site_id, name))
            .await
            .map_err(super::unavailable)?;
        applied(result)
    }

    async fn set_backend_status(&self, site_id: Uuid, id: Uuid, expected: &str, status: &str, reason: &str) -> Result<bool, StoreError> {
        let result = self
            .session
            .execute_unpaged(&self.statements.set_backend_status, (status, reason, site_id, id, expected))
            .await
            .map_err(super::unavailable)?;
        applied(result)
    }

    async fn end_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        token: &str,
        backend_id: Uuid,
        alt_backend_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .session
            .execute_unpaged(&self.statements.end_group_move, (backend_id, alt_backend_id, now, site_id, name, token))
            .await
            .map_err(super::unavailable)?;
        applied(result)
    }

    async fn put_backend(&self, b: &Backend) -> Result<(), StoreError> {
        let values =
            (b.site_id, b.id, b.load_factor, &b.host, &b.status, &b.status_reason, &b.last_moved_from, &b.last_moved_to);
        self.write(&self.statements.put_backend, values).await
    }

    async fn list_groups(&self, site_id: Uuid, page: PageRequest) -> Result<Page<UserGroup>, StoreError> {
        self.list::<GroupRow, _>(&self.statements.list_groups, (site_id,), &page).await
    }

    async fn get_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError> {
        self.one::<GroupRow, _>(&self.statements.get_group, (site_id, name)).await
    }

    async fn put_group(&self, g: &UserGroup) -> Result<(), StoreError> {
        // Not moving is null, as Dovecot writes it, so that `IF moving IN (null, '')` holds either way.
        let moving = (!g.moving.is_empty()).then_some(&g.moving);
        let values =
            (g.site_id, &g.name, g.backend_id, g.alt_backend_id, g.sticky_users, moving, g.refresh_after, g.sticky_backend);
        self.write(&self.statements.put_group, values).await
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        self.list::<UserRow, _>(&self.statements.list_users, (), &page).await
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.one::<UserRow, _>(&self.statements.get_user, (username,)).await
    }

    async fn put_user(&self, u: &User) -> Result<(), StoreError> {
        let values = (
            &u.username,
            u.preferred_site_id,
            &u.group_name,
            &u.failover_site_group_name,
            &u.metacache_last_host,
            u.moving_preferred_site_id,
            &u.moving_group_name,
            &u.moving_failover_site_group_name,
            u.last_update,
        );
        self.write(&self.statements.put_user, values).await
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.write(&self.statements.delete_user, (username,)).await
    }

    async fn list_settings(&self, section: &str, page: PageRequest) -> Result<Page<ClusterSetting>, StoreError> {
        self.list::<SettingRow, _>(&self.statements.list_settings, (section,), &page).await
    }

    async fn put_setting(&self, s: &ClusterSetting) -> Result<(), StoreError> {
        self.write(&self.statements.put_setting, (&s.section, s.site_id, s.backend_id, &s.setting_name, &s.setting_value)).await
    }

    async fn delete_setting(&self, section: &str, site_id: Uuid, backend_id: Uuid, name: &str) -> Result<(), StoreError> {
        self.write(&self.statements.delete_setting, (section, site_id, backend_id, name)).await
    }

    async fn list_reachability(&self, page: PageRequest) -> Result<Page<Reachability>, StoreError> {
        self.list::<ReachabilityRow, _>(&self.statements.list_reachability, (), &page).await
    }

    async fn put_reachability(&self, r: &Reachability) -> Result<(), StoreError> {
        self.write(&self.statements.put_reachability, (r.src_site_id, r.dest_site_id, r.reachable)).await
    }

    async fn list_group_sites(&self, group_name: &str) -> Result<Vec<GroupSite>, StoreError> {
        // One partition: the sites of one group (a handful).
        let page = self.list::<GroupSiteRow, _>(&self.statements.list_group_sites, (group_name,), &PageRequest::first(500)).await?;
        Ok(page.items)
    }

    async fn put_group_site(&self, r: &GroupSite) -> Result<(), StoreError> {
        self.write(&self.statements.put_group_site, (&r.group_name, r.site_id, &r.status, r.failover_site_id, r.last_update)).await
    }

    async fn list_backend_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<BackendStat>, StoreError> {
        self.list::<BackendStatRow, _>(&self.statements.list_backend_stats, (site_id,), &page).await
    }

    async fn put_backend_stat(&self, r: &BackendStat) -> Result<(), StoreError> {
        self.write(&self.statements.put_backend_stat, (r.site_id, r.id, &r.key, r.value, &r.kind)).await
    }

    async fn list_proxy_dest_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<ProxyDestStat>, StoreError> {
        self.list::<ProxyDestStatRow, _>(&self.statements.list_proxy_dest_stats, (site_id,), &page).await
    }

    async fn put_proxy_dest_stat(&self, r: &ProxyDestStat) -> Result<(), StoreError> {
        self.write(&self.statements.put_proxy_dest_stat, (r.proxy_site_id, &r.dest_host, &r.proxy_host, &r.key, r.value, &r.kind)).await
    }

    async fn delete_proxy_dest_stats(&self, site_id: Uuid, dest_host: &str, proxy_host: &str) -> Result<(), StoreError> {
        self.write(&self.statements.delete_proxy_dest_stats, (site_id, dest_host, proxy_host)).await
    }
}
