//! `controller_group_roster` and the census's mark (`controller_census_marks`). A stale
//! member row is removed `USING TIMESTAMP` the write time of the membership that superseded it:
//! Cassandra's newest-timestamp-wins rule then keeps a row that a census wrote meanwhile.

use domain::{Page, PageRequest};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use palomar_core::ports::{GroupMembers, MemberRecord, StoreError};
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use super::{prepare, CassandraStore};

/// The mark's row in `controller_census_marks`.
const SYNCED: &str = "group_members_synced";
/// Member rows per unlogged batch (about 60 bytes each).
const MEMBERS_PER_BATCH: usize = 50;

pub(super) struct Statements {
    put: PreparedStatement,
    list: PreparedStatement,
    remove: PreparedStatement,
    get_mark: PreparedStatement,
    put_mark: PreparedStatement,
}

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            put: prepare(session, ks, "INSERT INTO {ks}.controller_group_roster (site_id, group_name, username) VALUES (?, ?, ?)").await?,
            list: prepare(session, ks, "SELECT username FROM {ks}.controller_group_roster WHERE site_id = ? AND group_name = ?").await?,
            remove: prepare(session, ks, "DELETE FROM {ks}.controller_group_roster USING TIMESTAMP ? WHERE site_id = ? AND group_name = ? AND username = ?").await?,
            get_mark: prepare(session, ks, "SELECT at FROM {ks}.controller_census_marks WHERE name = ?").await?,
            put_mark: prepare(session, ks, "INSERT INTO {ks}.controller_census_marks (name, at) VALUES (?, ?)").await?,
        })
    }
}

#[derive(DeserializeRow)]
struct MemberRow {
    username: String,
}

impl From<MemberRow> for String {
    fn from(r: MemberRow) -> Self {
        r.username
    }
}

#[derive(DeserializeRow)]
struct MarkRow {
    at: Option<DateTime<Utc>>,
}

impl From<MarkRow> for Option<DateTime<Utc>> {
    fn from(r: MarkRow) -> Self {
        r.at
    }
}

#[async_trait]
impl GroupMembers for CassandraStore {
    async fn put_members(&self, members: &[MemberRecord]) -> Result<(), StoreError> {
        let rows = members.iter().map(|m| (m.site_id, m.group.as_str(), m.username.as_str())).collect();
        self.write_batches(&self.member_statements.put, rows, MEMBERS_PER_BATCH).await
    }

    async fn list_members(&self, site_id: Uuid, group: &str, page: PageRequest) -> Result<Page<String>, StoreError> {
        self.list::<MemberRow, _>(&self.member_statements.list, (site_id, group), &page).await
    }

    async fn remove_member(
        &self,
        site_id: Uuid,
        group: &str,
        username: &str,
        superseded_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let values = (superseded_at.timestamp_micros(), site_id, group, username);
        self.write(&self.member_statements.remove, values).await
    }

    async fn synced_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.one::<MarkRow, Option<DateTime<Utc>>>(&self.member_statements.get_mark, (SYNCED,)).await?.flatten())
    }

    async fn set_synced_at(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(&self.member_statements.put_mark, (SYNCED, at)).await
    }
}
