//! `tags` and `sites`.

use std::ops::Bound;

use domain::{Page, PageRequest, Site, Tag};

use async_trait::async_trait;
use palomar_core::ports::{SiteTable, StoreError, TagTable};
use uuid::Uuid;

use crate::adapters::embedded::{page, replace_if, uuid_key, EmbeddedStore};

#[async_trait]
impl TagTable for EmbeddedStore {
    async fn list_tags(&self, request: PageRequest) -> Result<Page<Tag>, StoreError> {
        page(&self.read().tags, Bound::Unbounded, Bound::Unbounded, &request, uuid_key, Uuid::to_string)
    }

    async fn get_tag(&self, id: Uuid) -> Result<Option<Tag>, StoreError> {
        Ok(self.read().tags.get(&id).cloned())
    }

    async fn put_tag(&self, tag: &Tag) -> Result<(), StoreError> {
        self.write().tags.insert(tag.id, tag.clone());
        Ok(())
    }

    async fn write_tag(&self, seen: Option<&Tag>, tag: &Tag) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().tags, tag.id, seen, Some(tag)))
    }

    async fn remove_tag(&self, seen: &Tag) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().tags, seen.id, Some(seen), None))
    }
}

#[async_trait]
impl SiteTable for EmbeddedStore {
    async fn list_sites(&self, request: PageRequest) -> Result<Page<Site>, StoreError> {
        page(&self.read().sites, Bound::Unbounded, Bound::Unbounded, &request, uuid_key, Uuid::to_string)
    }

    async fn get_site(&self, id: Uuid) -> Result<Option<Site>, StoreError> {
        Ok(self.read().sites.get(&id).cloned())
    }

    async fn put_site(&self, site: &Site) -> Result<(), StoreError> {
        self.write().sites.insert(site.id, site.clone());
        Ok(())
    }

    async fn write_site(&self, seen: Option<&Site>, site: &Site) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().sites, site.id, seen, Some(site)))
    }

    async fn remove_site(&self, seen: &Site) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().sites, seen.id, Some(seen), None))
    }
}
