//! Group members as the census writes them, each with an expiry like Cassandra's TTL.

use std::ops::Bound;

use app::{
    domain::{Page, PageRequest},
    ports::{GroupMembers, StoreError},
};
use async_trait::async_trait;
use uuid::Uuid;

use super::{page, EmbeddedStore};

#[async_trait]
impl GroupMembers for EmbeddedStore {
    async fn put_member(
        &self,
        site_id: Uuid,
        group: &str,
        username: &str,
        ttl: std::time::Duration,
    ) -> Result<(), StoreError> {
        let expires = std::time::Instant::now() + ttl;
        self.write()
            .members
            .insert((site_id, group.to_string(), username.to_string()), (username.to_string(), expires));
        Ok(())
    }

    async fn list_members(&self, site_id: Uuid, group: &str, request: PageRequest) -> Result<Page<String>, StoreError> {
        let now = std::time::Instant::now();
        let mut tables = self.write();
        tables.members.retain(|_, (_, expires)| *expires > now);
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
}
