//! Group members as the census records them. Each record keeps when it was written and
//! removals leave a mark, like Cassandra's write times and tombstones: the newest time wins.

use std::ops::Bound;

use domain::{Page, PageRequest};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use palomar_core::ports::{GroupMembers, MemberRecord, StoreError};
use uuid::Uuid;

use super::{page, EmbeddedStore};

#[async_trait]
impl GroupMembers for EmbeddedStore {
    async fn put_members(&self, members: &[MemberRecord]) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut tables = self.write();
        for member in members {
            let key = (member.site_id, member.group.clone(), member.username.clone());
            // As in Cassandra, a removal hides writes up to its time, ties included.
            if tables.member_removals.get(&key).is_some_and(|removed| now <= *removed) {
                continue;
            }
            tables.members.insert(key, (member.username.clone(), now));
        }
        Ok(())
    }

    async fn list_members(&self, site_id: Uuid, group: &str, request: PageRequest) -> Result<Page<String>, StoreError> {
        let tables = self.read();
        let group = group.to_string();
        let lo = (site_id, group.clone(), String::new());
        let hi = (site_id, format!("{group}\u{0}"), String::new());
        let found = page(
            &tables.members,
            Bound::Included(lo),
            Bound::Excluded(hi),
            &request,
            |c| Some((site_id, group.clone(), c.to_string())),
            |(_, _, user)| user.clone(),
        )?;
        Ok(found.map(|(user, _)| user))
    }

    async fn remove_member(
        &self,
        site_id: Uuid,
        group: &str,
        username: &str,
        superseded_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tables = self.write();
        let key = (site_id, group.to_string(), username.to_string());
        if tables.members.get(&key).is_some_and(|(_, at)| *at <= superseded_at) {
            tables.members.remove(&key);
        }
        let removed = tables.member_removals.entry(key).or_insert(superseded_at);
        *removed = (*removed).max(superseded_at);
        Ok(())
    }

    async fn synced_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.read().members_synced_at)
    }

    async fn set_synced_at(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write().members_synced_at = Some(at);
        Ok(())
    }
}
