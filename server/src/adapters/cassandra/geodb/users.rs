//! `users`.

use domain::geodb::User;

use chrono::{DateTime, Utc};
use palomar_core::ports::StoreError;
use scylla::{client::session::Session, statement::prepared::PreparedStatement, value::MaybeUnset, DeserializeRow};
use uuid::Uuid;

use crate::adapters::cassandra::{prepare, scan::MEMBERSHIP_COLUMNS};

/// The statements of this area, prepared once at start-up.
pub(super) struct Statements {
    /// One token range of [`MEMBERSHIP_COLUMNS`], for the census's scan.
    pub(super) scan_memberships: PreparedStatement,
    pub(super) get_membership: PreparedStatement,
    pub(super) store_time: PreparedStatement,
    pub(super) get_user: PreparedStatement,
    pub(super) put_user: PreparedStatement,
    pub(super) start_user_move: PreparedStatement,
    pub(super) relocate_user: PreparedStatement,
    pub(super) delete_user: PreparedStatement,
}

const USER_COLUMNS: &str = "username, preferred_site_id, group_name, failover_site_group_name, metacache_last_host, \
     moving_preferred_site_id, moving_group_name, moving_failover_site_group_name, last_update";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            scan_memberships: prepare(
                session,
                ks,
                &format!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM {{ks}}.users WHERE token(username) > ? AND token(username) <= ?"
                ),
            )
            .await?,
            get_membership: prepare(
                session,
                ks,
                &format!("SELECT {MEMBERSHIP_COLUMNS} FROM {{ks}}.users WHERE username = ?"),
            )
            .await?,
            store_time: prepare(session, ks, "SELECT toTimestamp(now()) AS now FROM system.local").await?,
            get_user: prepare(session, ks, &format!("SELECT {USER_COLUMNS} FROM {{ks}}.users WHERE username = ?"))
                .await?,
            put_user: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            )
            .await?,
            delete_user: prepare(session, ks, "DELETE FROM {ks}.users WHERE username = ?").await?,
            start_user_move: prepare(
                session,
                ks,
                "UPDATE {ks}.users SET moving_preferred_site_id = ?, moving_group_name = ?, \
                 moving_failover_site_group_name = ?, last_update = ? WHERE username = ? \
                 IF group_name IN (?, ?) AND moving_group_name IN (?, ?)",
            )
            .await?,
            relocate_user: prepare(
                session,
                ks,
                "UPDATE {ks}.users SET preferred_site_id = ?, group_name = ?, failover_site_group_name = ?, \
                 last_update = ? WHERE username = ? \
                 IF preferred_site_id = ? AND group_name IN (?, ?) AND moving_group_name IN (?, ?)",
            )
            .await?,
        })
    }
}

#[derive(DeserializeRow)]
pub(super) struct UserRow {
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

/// A whole `users` row's values, in `USER_COLUMNS` order: `Id` wraps the optional uuids and
/// `At` the optional `last_update` (as `Option`, or as `MaybeUnset` to leave nulls unwritten).
pub(super) type UserValues<'a, Id, At> = (&'a str, Id, &'a str, &'a str, &'a str, Id, &'a str, &'a str, At);

/// The values of [`Statements::put_user`] for `u`.
pub(super) fn user_values(u: &User) -> UserValues<'_, Option<Uuid>, Option<DateTime<Utc>>> {
    (
        &u.username,
        u.preferred_site_id,
        &u.group_name,
        &u.failover_site_group_name,
        &u.metacache_last_host,
        u.moving_preferred_site_id,
        &u.moving_group_name,
        &u.moving_failover_site_group_name,
        u.last_update,
    )
}

/// The values of a new user's row: every column but the key may be left unset.
pub(super) type NewUserValues<'a> = (
    &'a str,
    MaybeUnset<Uuid>,
    MaybeUnset<&'a str>,
    MaybeUnset<&'a str>,
    MaybeUnset<&'a str>,
    MaybeUnset<Uuid>,
    MaybeUnset<&'a str>,
    MaybeUnset<&'a str>,
    MaybeUnset<DateTime<Utc>>,
);

/// As [`user_values`] with null and empty columns left unset: they then keep what the row
/// holds, and a new row gets neither tombstones nor empty cells (seeding writes millions).
pub(super) fn new_user_values(u: &User) -> NewUserValues<'_> {
    fn text(s: &str) -> MaybeUnset<&str> {
        if s.is_empty() {
            MaybeUnset::Unset
        } else {
            MaybeUnset::Set(s)
        }
    }
    (
        &u.username,
        MaybeUnset::from_option(u.preferred_site_id),
        text(&u.group_name),
        text(&u.failover_site_group_name),
        text(&u.metacache_last_host),
        MaybeUnset::from_option(u.moving_preferred_site_id),
        text(&u.moving_group_name),
        text(&u.moving_failover_site_group_name),
        MaybeUnset::from_option(u.last_update),
    )
}

/// The answer of [`Statements::store_time`].
#[derive(DeserializeRow)]
pub(super) struct NowRow {
    now: DateTime<Utc>,
}

impl From<NowRow> for DateTime<Utc> {
    fn from(r: NowRow) -> Self {
        r.now
    }
}
