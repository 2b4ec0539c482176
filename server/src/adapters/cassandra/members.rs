use std::time::Duration;

use app::{
    domain::{Page, PageRequest},
    ports::{GroupMembers, StoreError},
};
use async_trait::async_trait;
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use super::{prepare, CassandraStore};

pub(super) struct Statements {
    put: PreparedStatement,
    list: PreparedStatement,
}

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            put: prepare(session, ks, "INSERT INTO {ks}.controller_group_members (site_id, group_name, username) VALUES (?, ?, ?) USING TTL ?").await?,
            list: prepare(session, ks, "SELECT username FROM {ks}.controller_group_members WHERE site_id = ? AND group_name = ?").await?,
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

#[async_trait]
impl GroupMembers for CassandraStore {
    async fn put_member(&self, site_id: Uuid, group: &str, username: &str, ttl: Duration) -> Result<(), StoreError> {
        let ttl = i32::try_from(ttl.as_secs().max(1)).unwrap_or(i32::MAX);
        self.write(&self.member_statements.put, (site_id, group, username, ttl)).await
    }

    async fn list_members(&self, site_id: Uuid, group: &str, page: PageRequest) -> Result<Page<String>, StoreError> {
        self.list::<MemberRow, _>(&self.member_statements.list, (site_id, group), &page).await
    }
}
