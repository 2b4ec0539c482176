//! `user_groups`, with a move's start and end as conditional writes.

use std::ops::Bound;

use domain::{
    geodb::{GroupBackend, StickyWrite, UserGroup},
    Page, PageRequest,
};

use async_trait::async_trait;
use futures::stream::BoxStream;
use palomar_core::ports::{GroupTable, StoreError};
use uuid::Uuid;

use crate::adapters::embedded::{page, EmbeddedStore};

#[async_trait]
impl GroupTable for EmbeddedStore {
    async fn list_groups(&self, site_id: Uuid, request: PageRequest) -> Result<Page<UserGroup>, StoreError> {
        let next_site = Uuid::from_u128(site_id.as_u128().wrapping_add(1));
        let hi = if site_id == Uuid::max() { Bound::Unbounded } else { Bound::Excluded((next_site, String::new())) };
        page(
            &self.read().groups,
            Bound::Included((site_id, String::new())),
            hi,
            &request,
            |c| Some((site_id, c.to_string())),
            |(_, name)| name.clone(),
        )
    }

    fn scan_group_backends(&self) -> BoxStream<'_, Result<Vec<GroupBackend>, StoreError>> {
        EmbeddedStore::scan_group_backends(self)
    }

    async fn get_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError> {
        Ok(self.read().groups.get(&(site_id, name.to_string())).cloned())
    }

    async fn put_group(&self, group: &UserGroup) -> Result<(), StoreError> {
        self.write().groups.insert((group.site_id, group.name.clone()), group.clone());
        Ok(())
    }

    async fn put_groups(&self, groups: &[UserGroup]) -> Result<(), StoreError> {
        let mut tables = self.write();
        for group in groups {
            let key = (group.site_id, group.name.clone());
            // A `None` or empty column is left as it was, as Cassandra does with an unset value.
            let merged = match tables.groups.get(&key) {
                Some(old) => UserGroup {
                    backend_id: group.backend_id.or(old.backend_id),
                    alt_backend_id: group.alt_backend_id.or(old.alt_backend_id),
                    moving: if group.moving.is_empty() { old.moving.clone() } else { group.moving.clone() },
                    refresh_after: group.refresh_after.or(old.refresh_after),
                    ..group.clone()
                },
                None => group.clone(),
            };
            tables.groups.insert(key, merged);
        }
        Ok(())
    }

    async fn create_group(&self, group: &UserGroup) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let key = (group.site_id, group.name.clone());
        if tables.groups.contains_key(&key) {
            return Ok(false);
        }
        tables.groups.insert(key, group.clone());
        Ok(true)
    }

    async fn set_group_sticky(&self, site_id: Uuid, name: &str, write: StickyWrite) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let Some(group) = tables.groups.get_mut(&(site_id, name.to_string())) else { return Ok(false) };
        let applies = group.backend_id.is_some() && !write.is_empty() && write.holds_seen(group);
        if applies {
            *group = write.wanted_on(group);
        }
        Ok(applies)
    }

    async fn set_group_alt(
        &self,
        site_id: Uuid,
        name: &str,
        seen: Option<Uuid>,
        alt: Uuid,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.backend_id.is_some() && group.moving.is_empty() && group.alt_backend_id == seen => {
                group.alt_backend_id = Some(alt);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn start_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        destination: Uuid,
        token: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.moving.is_empty() && group.backend_id.is_some() => {
                group.moving = token.to_string();
                group.alt_backend_id = Some(destination);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        token: &str,
        backend_id: Uuid,
        alt_backend_id: Option<Uuid>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.moving == token => {
                group.backend_id = Some(backend_id);
                group.alt_backend_id = alt_backend_id;
                group.moving = String::new();
                group.refresh_after = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
