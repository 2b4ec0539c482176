//! `users`.

use app::{domain::geodb::User, ports::StoreError};
use chrono::{DateTime, Utc};
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use crate::adapters::cassandra::prepare;

/// The statements of this area, prepared once at start-up.
pub(super) struct Statements {
    pub(super) list_users: PreparedStatement,
    pub(super) get_user: PreparedStatement,
    pub(super) put_user: PreparedStatement,
    pub(super) start_user_move: PreparedStatement,
    pub(super) delete_user: PreparedStatement,
}

const USER_COLUMNS: &str = "username, preferred_site_id, group_name, failover_site_group_name, metacache_last_host, \
     moving_preferred_site_id, moving_group_name, moving_failover_site_group_name, last_update";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            list_users: prepare(session, ks, &format!("SELECT {USER_COLUMNS} FROM {{ks}}.users")).await?,
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
