//! `backends`, with the conditional column updates.

use std::ops::Bound;

use domain::{
    geodb::{Backend, BackendStatus, MoveSide},
    Page, PageRequest,
};

use async_trait::async_trait;
use palomar_core::ports::{BackendTable, StoreError};
use uuid::Uuid;

use crate::adapters::embedded::{page, replace_if, uuid_key, EmbeddedStore};

#[async_trait]
impl BackendTable for EmbeddedStore {
    async fn list_backends(&self, site_id: Uuid, request: PageRequest) -> Result<Page<Backend>, StoreError> {
        page(
            &self.read().backends,
            Bound::Included((site_id, Uuid::nil())),
            Bound::Included((site_id, Uuid::max())),
            &request,
            |c| uuid_key(c).map(|id| (site_id, id)),
            |(_, id)| id.to_string(),
        )
    }

    async fn get_backend(&self, site_id: Uuid, id: Uuid) -> Result<Option<Backend>, StoreError> {
        Ok(self.read().backends.get(&(site_id, id)).cloned())
    }

    async fn put_backend(&self, backend: &Backend) -> Result<(), StoreError> {
        self.write().backends.insert((backend.site_id, backend.id), backend.clone());
        Ok(())
    }

    async fn add_backend(&self, backend: &Backend) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().backends, (backend.site_id, backend.id), None, Some(backend)))
    }

    async fn set_backend_load_factor(
        &self,
        site_id: Uuid,
        id: Uuid,
        seen: i32,
        load_factor: i32,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.backends.get_mut(&(site_id, id)) {
            Some(backend) if backend.load_factor == seen => {
                backend.load_factor = load_factor;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_backend_state(&self, seen: &Backend, wanted: &Backend) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.backends.get_mut(&(seen.site_id, seen.id)) {
            Some(backend) if backend.status == seen.status && backend.load_factor == seen.load_factor => {
                backend.status = wanted.status.clone();
                backend.load_factor = wanted.load_factor;
                backend.status_reason = wanted.status_reason.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_backend_status(
        &self,
        site_id: Uuid,
        id: Uuid,
        expected: &BackendStatus,
        status: &BackendStatus,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.backends.get_mut(&(site_id, id)) {
            Some(backend) if backend.status == *expected => {
                backend.status = status.clone();
                backend.status_reason = reason.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn note_backend_move(
        &self,
        site_id: Uuid,
        id: Uuid,
        side: MoveSide,
        seen: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let Some(backend) = tables.backends.get_mut(&(site_id, id)) else { return Ok(false) };
        let column = match side {
            MoveSide::From => &mut backend.last_moved_from,
            MoveSide::To => &mut backend.last_moved_to,
        };
        if column != seen {
            return Ok(false);
        }
        *column = at.to_string();
        Ok(true)
    }

    async fn delete_backend(&self, site_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        self.write().backends.remove(&(site_id, id));
        Ok(())
    }
}
