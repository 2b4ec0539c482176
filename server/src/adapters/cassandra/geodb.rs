use app::{
    domain::{
        geodb::{Backend, User, UserGroup},
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
        let values =
            (g.site_id, &g.name, g.backend_id, g.alt_backend_id, g.sticky_users, &g.moving, g.refresh_after, g.sticky_backend);
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
}
