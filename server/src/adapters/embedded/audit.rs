//! The audit log, per day and newest first.

use std::{cmp::Reverse, ops::Bound};

use domain::{audit::AuditRecord, Page, PageRequest};

use async_trait::async_trait;
use palomar_core::ports::{AuditLog, StoreError};
use uuid::Uuid;

use super::{page, EmbeddedStore};

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let key = (record.day(), Reverse(record.at.timestamp_micros()), record.id);
        self.write().audit.insert(key, record.clone());
        Ok(())
    }

    async fn list_day(&self, day: chrono::NaiveDate, request: PageRequest) -> Result<Page<AuditRecord>, StoreError> {
        page(
            &self.read().audit,
            Bound::Included((day, Reverse(i64::MAX), Uuid::nil())),
            Bound::Included((day, Reverse(i64::MIN), Uuid::max())),
            &request,
            |c| {
                let (micros, id) = c.split_once('_')?;
                Some((day, Reverse(micros.parse().ok()?), Uuid::parse_str(id).ok()?))
            },
            |(_, Reverse(micros), id)| format!("{micros}_{id}"),
        )
    }
}
