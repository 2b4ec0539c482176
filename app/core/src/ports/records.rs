//! The controller's own records: its decisions, the moves it supervises, and the
//! users-per-backend history.

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use domain::{decisions::DecisionRecord, moves::MoveRecord, replay::ReplayRun, Page, PageRequest};

/// The controller's own records in Cassandra: its decisions and the moves it supervises.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    async fn record_decision(&self, record: &DecisionRecord) -> Result<(), StoreError>;
    /// One site's decisions of one UTC day, newest first.
    async fn list_decisions(
        &self,
        site_id: Uuid,
        day: chrono::NaiveDate,
        page: PageRequest,
    ) -> Result<Page<DecisionRecord>, StoreError>;
    /// Records a new move, unless a move with its id is already recorded; an active one is
    /// also kept in a small per-site index until it ends. Returns whether it was recorded.
    async fn insert_move(&self, record: &MoveRecord) -> Result<bool, StoreError>;
    /// Saves a move's progress or its end, only while the stored move is still active: a move
    /// that someone else ended is never brought back. Returns whether it was saved.
    async fn update_move(&self, record: &MoveRecord) -> Result<bool, StoreError>;
    /// One site's active moves.
    async fn list_active_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, StoreError>;
    /// One site's moves, active and past, newest first.
    async fn list_moves(&self, site_id: Uuid, page: PageRequest) -> Result<Page<MoveRecord>, StoreError>;
    /// Keeps the users each backend of the site had at one census (the users-per-backend
    /// chart). Kept for [`CENSUS_HISTORY_KEPT`]; writing the same `taken_at` again replaces.
    /// Times are kept to the millisecond (Cassandra's resolution). Not atomic: on an error,
    /// some backends' points may be written.
    async fn record_backend_users(
        &self,
        site_id: Uuid,
        taken_at: DateTime<Utc>,
        users: &[(Uuid, u64)],
    ) -> Result<(), StoreError>;
    /// The recorded users of each of `backends` at or after `since`, oldest first: one entry
    /// per backend asked for (empty when nothing was recorded), a backend asked twice counted
    /// once. More than [`MAX_HISTORY_BACKENDS`] backends are refused with
    /// [`StoreError::TooMany`] and nothing is read, so that no caller is shown a cut list.
    async fn backend_users_history(
        &self,
        site_id: Uuid,
        backends: &[Uuid],
        since: DateTime<Utc>,
    ) -> Result<BTreeMap<Uuid, Vec<(DateTime<Utc>, u64)>>, StoreError>;
    /// Records a new replay, unless one with its id is already recorded; kept for
    /// [`domain::replay::RUN_KEPT`]. Returns whether it was recorded.
    async fn insert_replay(&self, run: &ReplayRun) -> Result<bool, StoreError>;
    /// Saves a replay's progress or its end, only while the stored replay is still running: a
    /// replay that ended is never changed again. Returns whether it was saved.
    async fn update_replay(&self, run: &ReplayRun) -> Result<bool, StoreError>;
    async fn get_replay(&self, site_id: Uuid, id: Uuid) -> Result<Option<ReplayRun>, StoreError>;
}

/// The largest replay record kept, in bytes of JSON: a day of 10-second passes' chart points
/// and a few thousand decisions fit many times over, and it stays far below what one
/// Cassandra write takes.
pub const MAX_REPLAY_BYTES: usize = 8 << 20;

/// How long the users-per-backend history is kept.
pub const CENSUS_HISTORY_KEPT: Duration = Duration::from_secs(35 * 24 * 3600);
/// The most backends one history read covers (a chart shows a few lines).
pub const MAX_HISTORY_BACKENDS: usize = 20;

/// The distinct backends of a history read, or [`StoreError::TooMany`]: the check every
/// [`RecordStore::backend_users_history`] makes before it reads anything.
pub fn history_backends(backends: &[Uuid]) -> Result<std::collections::BTreeSet<Uuid>, StoreError> {
    let backends: std::collections::BTreeSet<Uuid> = backends.iter().copied().collect();
    if backends.len() > MAX_HISTORY_BACKENDS {
        return Err(StoreError::TooMany { what: "backends", asked: backends.len(), most: MAX_HISTORY_BACKENDS });
    }
    Ok(backends)
}
