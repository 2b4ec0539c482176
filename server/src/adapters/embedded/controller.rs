//! The controller's decisions and moves.

use std::{cmp::Reverse, ops::Bound};

use app::{
    domain::{
        controller::{DecisionRecord, MoveRecord},
        Page, PageRequest,
    },
    ports::{ControllerStore, StoreError},
};
use async_trait::async_trait;
use uuid::Uuid;

use super::{page, EmbeddedStore};

fn micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros()
}

#[async_trait]
impl ControllerStore for EmbeddedStore {
    async fn record_decision(&self, record: &DecisionRecord) -> Result<(), StoreError> {
        let key = (record.site_id, record.day(), Reverse(micros(record.at)), record.id);
        self.write().decisions.insert(key, record.clone());
        Ok(())
    }

    async fn list_decisions(
        &self,
        site_id: Uuid,
        day: chrono::NaiveDate,
        request: PageRequest,
    ) -> Result<Page<DecisionRecord>, StoreError> {
        page(
            &self.read().decisions,
            Bound::Included((site_id, day, Reverse(i64::MAX), Uuid::nil())),
            Bound::Included((site_id, day, Reverse(i64::MIN), Uuid::max())),
            &request,
            |c| {
                let (micros, id) = c.split_once('_')?;
                Some((site_id, day, Reverse(micros.parse().ok()?), Uuid::parse_str(id).ok()?))
            },
            |(_, _, Reverse(micros), id)| format!("{micros}_{id}"),
        )
    }

    async fn insert_move(&self, record: &MoveRecord) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let recorded = tables.active_moves.contains_key(&(record.site_id, record.id))
            || tables.moves.keys().any(|(site, _, id)| *site == record.site_id && *id == record.id);
        if recorded {
            return Ok(false);
        }
        tables.moves.insert((record.site_id, Reverse(micros(record.created_at)), record.id), record.clone());
        if record.state.is_active() {
            tables.active_moves.insert((record.site_id, record.id), record.clone());
        }
        Ok(true)
    }

    async fn update_move(&self, record: &MoveRecord) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let key = (record.site_id, Reverse(micros(record.created_at)), record.id);
        match tables.moves.get_mut(&key) {
            Some(stored) if stored.state.is_active() => *stored = record.clone(),
            _ => return Ok(false),
        }
        if record.state.is_active() {
            if let Some(active) = tables.active_moves.get_mut(&(record.site_id, record.id)) {
                *active = record.clone();
            }
        } else {
            tables.active_moves.remove(&(record.site_id, record.id));
        }
        Ok(true)
    }

    async fn list_active_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, StoreError> {
        Ok(self
            .read()
            .active_moves
            .range((site_id, Uuid::nil())..=(site_id, Uuid::max()))
            .map(|(_, m)| m.clone())
            .collect())
    }

    async fn list_moves(&self, site_id: Uuid, request: PageRequest) -> Result<Page<MoveRecord>, StoreError> {
        page(
            &self.read().moves,
            Bound::Included((site_id, Reverse(i64::MAX), Uuid::nil())),
            Bound::Included((site_id, Reverse(i64::MIN), Uuid::max())),
            &request,
            |c| {
                let (micros, id) = c.split_once('_')?;
                Some((site_id, Reverse(micros.parse().ok()?), Uuid::parse_str(id).ok()?))
            },
            |(_, Reverse(micros), id)| format!("{micros}_{id}"),
        )
    }
}
