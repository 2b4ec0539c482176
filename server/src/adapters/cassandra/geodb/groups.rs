//! `user_groups`, with a move's start and end as lightweight transactions, and `group_sites`.

use domain::geodb::{GroupBackend, GroupSite, UserGroup};

use chrono::{DateTime, Utc};
use palomar_core::ports::StoreError;
use scylla::{client::session::Session, statement::prepared::PreparedStatement, value::MaybeUnset, DeserializeRow};
use uuid::Uuid;

use crate::adapters::cassandra::prepare;

/// A whole `user_groups` row's values, in `GROUP_COLUMNS` order.
pub(super) type GroupValues<'a> =
    (Uuid, &'a str, Option<Uuid>, Option<Uuid>, i32, Option<&'a str>, Option<DateTime<Utc>>, i32);

/// The values of a whole row. Not moving is null, as Dovecot writes it, so that
/// `IF moving IN (null, '')` holds either way.
pub(super) fn row_values(g: &UserGroup) -> GroupValues<'_> {
    let moving = (!g.moving.is_empty()).then_some(g.moving.as_str());
    (g.site_id, &g.name, g.backend_id, g.alt_backend_id, g.sticky_users, moving, g.refresh_after, g.sticky_backend)
}

/// A new group's row values, in `GROUP_COLUMNS` order; any but the key may be unset.
pub(super) type NewGroupValues<'a> =
    (Uuid, &'a str, MaybeUnset<Uuid>, MaybeUnset<Uuid>, i32, MaybeUnset<&'a str>, MaybeUnset<DateTime<Utc>>, i32);

/// The values of a new group's row, with null and empty columns left unset (no tombstones).
pub(super) fn new_group_values(g: &UserGroup) -> NewGroupValues<'_> {
    let moving = if g.moving.is_empty() { MaybeUnset::Unset } else { MaybeUnset::Set(g.moving.as_str()) };
    (
        g.site_id,
        &g.name,
        MaybeUnset::from_option(g.backend_id),
        MaybeUnset::from_option(g.alt_backend_id),
        g.sticky_users,
        moving,
        MaybeUnset::from_option(g.refresh_after),
        g.sticky_backend,
    )
}

/// Rows per page of the census's read of `user_groups`.
const GROUP_SCAN_PAGE: i32 = 5000;

/// The statements of this area, prepared once at start-up.
pub(super) struct Statements {
    pub(super) list_groups: PreparedStatement,
    /// The whole table's backends, for the census (paged by the driver, large pages).
    pub(super) scan_group_backends: PreparedStatement,
    pub(super) get_group: PreparedStatement,
    pub(super) put_group: PreparedStatement,
    pub(super) create_group: PreparedStatement,
    pub(super) set_sticky: PreparedStatement,
    pub(super) set_sticky_users: PreparedStatement,
    pub(super) set_sticky_backend: PreparedStatement,
    pub(super) set_alt: PreparedStatement,
    pub(super) set_alt_unset: PreparedStatement,
    pub(super) start_group_move: PreparedStatement,
    pub(super) end_group_move: PreparedStatement,
    pub(super) list_group_sites: PreparedStatement,
    pub(super) put_group_site: PreparedStatement,
}

const GROUP_COLUMNS: &str =
    "site_id, name, backend_id, alt_backend_id, sticky_users, moving, refresh_after, sticky_backend";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            list_groups: prepare(session, ks, &format!("SELECT {GROUP_COLUMNS} FROM {{ks}}.user_groups WHERE site_id = ?"))
                .await?,
            scan_group_backends: {
                let mut scan = prepare(session, ks, "SELECT site_id, name, backend_id FROM {ks}.user_groups").await?;
                scan.set_page_size(GROUP_SCAN_PAGE);
                scan
            },
            get_group: prepare(
                session,
                ks,
                &format!("SELECT {GROUP_COLUMNS} FROM {{ks}}.user_groups WHERE site_id = ? AND name = ?"),
            )
            .await?,
            put_group: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.user_groups ({GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            )
            .await?,
            create_group: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.user_groups ({GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"),
            )
            .await?,
            set_sticky: prepare(
                session,
                ks,
                "UPDATE {ks}.user_groups SET sticky_users = ?, sticky_backend = ? WHERE site_id = ? AND name = ? \
                 IF backend_id != null AND sticky_users IN (?, ?) AND sticky_backend IN (?, ?)",
            )
            .await?,
            set_sticky_users: prepare(
                session,
                ks,
                "UPDATE {ks}.user_groups SET sticky_users = ? WHERE site_id = ? AND name = ? \
                 IF backend_id != null AND sticky_users IN (?, ?)",
            )
            .await?,
            set_sticky_backend: prepare(
                session,
                ks,
                "UPDATE {ks}.user_groups SET sticky_backend = ? WHERE site_id = ? AND name = ? \
                 IF backend_id != null AND sticky_backend IN (?, ?)",
            )
            .await?,
            set_alt: prepare(
                session,
                ks,
                "UPDATE {ks}.user_groups SET alt_backend_id = ? WHERE site_id = ? AND name = ? \
                 IF alt_backend_id = ? AND backend_id != null AND moving IN (null, '')",
            )
            .await?,
            set_alt_unset: prepare(
                session,
                ks,
                "UPDATE {ks}.user_groups SET alt_backend_id = ? WHERE site_id = ? AND name = ? \
                 IF alt_backend_id = null AND backend_id != null AND moving IN (null, '')",
            )
            .await?,
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
        })
    }
}

#[derive(DeserializeRow)]
pub(super) struct GroupRow {
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
pub(super) struct GroupSiteRow {
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
pub(super) struct GroupBackendRow {
    site_id: Uuid,
    name: String,
    backend_id: Option<Uuid>,
}

impl From<GroupBackendRow> for GroupBackend {
    fn from(r: GroupBackendRow) -> Self {
        GroupBackend { site_id: r.site_id, name: r.name, backend_id: r.backend_id }
    }
}
