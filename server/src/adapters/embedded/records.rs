//! The controller's decisions and moves, and the users-per-backend history.

use std::{cmp::Reverse, collections::BTreeMap, ops::Bound};

use domain::{
    decisions::DecisionRecord,
    moves::MoveRecord,
    replay::{ReplayRun, ReplayStatus, RUN_KEPT},
    Page, PageRequest,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use palomar_core::ports::{history_backends, RecordStore, StoreError, CENSUS_HISTORY_KEPT};
use uuid::Uuid;

use super::{page, EmbeddedStore};

fn micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros()
}

#[async_trait]
impl RecordStore for EmbeddedStore {
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

    async fn record_backend_users(
        &self,
        site_id: Uuid,
        taken_at: DateTime<Utc>,
        users: &[(Uuid, u64)],
    ) -> Result<(), StoreError> {
        let at = taken_at.timestamp_millis();
        let kept = i64::try_from(CENSUS_HISTORY_KEPT.as_millis()).unwrap_or(i64::MAX);
        let oldest = at.saturating_sub(kept);
        let mut tables = self.write();
        for (backend, count) in users {
            tables.backend_users.entry((site_id, *backend)).or_default().insert(at, *count);
        }
        // What Cassandra's time to live drops, dropped here when the site records again, so
        // memory stays bounded by the points of the period kept.
        let lo = (site_id, Uuid::nil());
        let hi = (site_id, Uuid::max());
        for points in tables.backend_users.range_mut(lo..=hi).map(|(_, points)| points) {
            *points = points.split_off(&oldest);
        }
        tables.backend_users.retain(|(site, _), points| *site != site_id || !points.is_empty());
        Ok(())
    }

    async fn backend_users_history(
        &self,
        site_id: Uuid,
        backends: &[Uuid],
        since: DateTime<Utc>,
    ) -> Result<BTreeMap<Uuid, Vec<(DateTime<Utc>, u64)>>, StoreError> {
        let backends = history_backends(backends)?;
        let since = since.timestamp_millis();
        let tables = self.read();
        Ok(backends
            .into_iter()
            .map(|backend| {
                let points = tables
                    .backend_users
                    .get(&(site_id, backend))
                    .map(|points| {
                        points
                            .range(since..)
                            .filter_map(|(at, users)| Some((DateTime::<Utc>::from_timestamp_millis(*at)?, *users)))
                            .collect()
                    })
                    .unwrap_or_default();
                (backend, points)
            })
            .collect())
    }

    async fn insert_replay(&self, run: &ReplayRun) -> Result<bool, StoreError> {
        let mut tables = self.write();
        // What Cassandra's time to live drops, dropped here when a replay starts, so memory
        // stays bounded by the replays of the period kept.
        let kept = chrono::Duration::from_std(RUN_KEPT).unwrap_or(chrono::Duration::MAX);
        tables.replays.retain(|_, r| run.created_at - r.updated_at <= kept);
        let key = (run.site_id, run.id);
        if tables.replays.contains_key(&key) {
            return Ok(false);
        }
        tables.replays.insert(key, run.clone());
        Ok(true)
    }

    async fn update_replay(&self, run: &ReplayRun) -> Result<bool, StoreError> {
        match self.write().replays.get_mut(&(run.site_id, run.id)) {
            Some(stored) if stored.status == ReplayStatus::Running => {
                *stored = run.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn get_replay(&self, site_id: Uuid, id: Uuid) -> Result<Option<ReplayRun>, StoreError> {
        Ok(self.read().replays.get(&(site_id, id)).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recording_drops_the_site_s_points_past_the_time_kept() {
        let store = EmbeddedStore::new();
        let (site, other, gone, stays) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let kept = chrono::Duration::from_std(CENSUS_HISTORY_KEPT).unwrap_or_default();
        store.record_backend_users(site, t0, &[(gone, 1), (stays, 1)]).await.unwrap();
        store.record_backend_users(other, t0, &[(gone, 5)]).await.unwrap();
        store.record_backend_users(site, t0 + kept, &[(stays, 2)]).await.unwrap();
        assert_eq!(store.read().backend_users.get(&(site, stays)).map(BTreeMap::len), Some(2), "exactly the time kept");
        store.record_backend_users(site, t0 + kept + chrono::Duration::milliseconds(1), &[(stays, 3)]).await.unwrap();
        let tables = store.read();
        assert!(!tables.backend_users.contains_key(&(site, gone)), "a backend left with no point is dropped");
        assert_eq!(tables.backend_users.get(&(site, stays)).map(BTreeMap::len), Some(2));
        assert!(tables.backend_users.contains_key(&(other, gone)), "another site's points wait for its own recording");
    }
}
