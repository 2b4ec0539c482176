//! The controller's decisions and moves (each row carries the record as JSON in `body`, with
//! the columns people filter on beside it), and the users-per-backend history.

use std::collections::BTreeMap;

use domain::{decisions::DecisionRecord, moves::MoveRecord, replay::ReplayRun, Page, PageRequest};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use palomar_core::ports::{history_backends, RecordStore, StoreError};
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use super::{prepare, unavailable, CassandraStore};

/// Writes (one partition each) and reads of the users-per-backend history in flight at once.
const HISTORY_IN_FLIGHT: usize = 16;

pub(super) struct Statements {
    put_decision: PreparedStatement,
    list_decisions: PreparedStatement,
    insert_move: PreparedStatement,
    update_move: PreparedStatement,
    put_active: PreparedStatement,
    update_active: PreparedStatement,
    delete_active: PreparedStatement,
    list_active: PreparedStatement,
    list_moves: PreparedStatement,
    put_backend_users: PreparedStatement,
    backend_users_since: PreparedStatement,
    insert_replay: PreparedStatement,
    update_replay: PreparedStatement,
    get_replay: PreparedStatement,
}

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            put_decision: prepare(
                session,
                ks,
                "INSERT INTO {ks}.controller_decisions (site_id, day, at, id, feature, mode, outcome, summary, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .await?,
            list_decisions: prepare(session, ks, "SELECT body FROM {ks}.controller_decisions WHERE site_id = ? AND day = ?").await?,
            insert_move: prepare(
                session,
                ks,
                "INSERT INTO {ks}.controller_moves (site_id, created_at, id, group_name, state, body) \
                 VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            // Every later write of a move is conditional on its still being active, so a move
            // that someone ended is never brought back by a late progress update.
            update_move: prepare(
                session,
                ks,
                "UPDATE {ks}.controller_moves SET group_name = ?, state = ?, body = ? \
                 WHERE site_id = ? AND created_at = ? AND id = ? IF state IN ('initiated', 'started')",
            )
            .await?,
            put_active: prepare(
                session,
                ks,
                "INSERT INTO {ks}.controller_active_moves (site_id, id, body) VALUES (?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            update_active: prepare(
                session,
                ks,
                "UPDATE {ks}.controller_active_moves SET body = ? WHERE site_id = ? AND id = ? IF EXISTS",
            )
            .await?,
            delete_active: prepare(session, ks, "DELETE FROM {ks}.controller_active_moves WHERE site_id = ? AND id = ? IF EXISTS")
                .await?,
            list_active: prepare(session, ks, "SELECT body FROM {ks}.controller_active_moves WHERE site_id = ?").await?,
            list_moves: prepare(session, ks, "SELECT body FROM {ks}.controller_moves WHERE site_id = ?").await?,
            put_backend_users: prepare(
                session,
                ks,
                "INSERT INTO {ks}.controller_backend_users (site_id, backend_id, taken_at, users) VALUES (?, ?, ?, ?)",
            )
            .await?,
            backend_users_since: prepare(
                session,
                ks,
                "SELECT taken_at, users FROM {ks}.controller_backend_users \
                 WHERE site_id = ? AND backend_id = ? AND taken_at >= ?",
            )
            .await?,
            insert_replay: prepare(
                session,
                ks,
                "INSERT INTO {ks}.controller_replays (site_id, id, status, body) VALUES (?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            // A replay that ended is never changed again, whatever a late write says.
            update_replay: prepare(
                session,
                ks,
                "UPDATE {ks}.controller_replays SET status = ?, body = ? WHERE site_id = ? AND id = ? \
                 IF status = 'running'",
            )
            .await?,
            get_replay: prepare(session, ks, "SELECT body FROM {ks}.controller_replays WHERE site_id = ? AND id = ?")
                .await?,
        })
    }
}

#[derive(DeserializeRow)]
struct UsersRow {
    taken_at: DateTime<Utc>,
    users: Option<i64>,
}

#[derive(DeserializeRow)]
struct BodyRow {
    body: Option<String>,
}

/// A row whose body does not parse is returned as an error rather than dropped silently.
struct Parsed<T>(Result<T, String>);

impl<T: serde::de::DeserializeOwned> From<BodyRow> for Parsed<T> {
    fn from(row: BodyRow) -> Self {
        Parsed(serde_json::from_str(row.body.as_deref().unwrap_or("")).map_err(|e| e.to_string()))
    }
}

fn unwrap_page<T>(page: Page<Parsed<T>>) -> Result<Page<T>, StoreError> {
    let items = page.items.into_iter().map(|p| p.0.map_err(StoreError::Corrupt)).collect::<Result<Vec<T>, _>>()?;
    Ok(Page { items, next: page.next })
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl RecordStore for CassandraStore {
    async fn record_decision(&self, r: &DecisionRecord) -> Result<(), StoreError> {
        let at: DateTime<Utc> = r.at;
        let values = (
            r.site_id,
            r.day().to_string(),
            at,
            r.id,
            r.decision.feature.as_str(),
            r.mode.as_str(),
            r.outcome.as_str(),
            &r.decision.summary,
            to_json(r)?,
        );
        self.write(&self.record_statements.put_decision, values).await
    }

    async fn list_decisions(
        &self,
        site_id: Uuid,
        day: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<DecisionRecord>, StoreError> {
        let page = self
            .list::<BodyRow, Parsed<DecisionRecord>>(
                &self.record_statements.list_decisions,
                (site_id, day.to_string()),
                &page,
            )
            .await?;
        unwrap_page(page)
    }

    async fn insert_move(&self, m: &MoveRecord) -> Result<bool, StoreError> {
        let body = to_json(m)?;
        let s = &self.record_statements;
        // The small active index decides who records an active move first; its history row
        // follows.
        if m.state.is_active() && !self.conditional(&s.put_active, (m.site_id, m.id, &body)).await? {
            return Ok(false);
        }
        self.conditional(&s.insert_move, (m.site_id, m.created_at, m.id, &m.group, m.state.as_str(), &body)).await
    }

    async fn update_move(&self, m: &MoveRecord) -> Result<bool, StoreError> {
        let body = to_json(m)?;
        let s = &self.record_statements;
        let values = (&m.group, m.state.as_str(), &body, m.site_id, m.created_at, m.id);
        if !self.conditional(&s.update_move, values).await? {
            return Ok(false);
        }
        if m.state.is_active() {
            self.conditional(&s.update_active, (&body, m.site_id, m.id)).await?;
        } else {
            self.conditional(&s.delete_active, (m.site_id, m.id)).await?;
        }
        Ok(true)
    }

    async fn list_active_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, StoreError> {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .list::<BodyRow, Parsed<MoveRecord>>(
                    &self.record_statements.list_active,
                    (site_id,),
                    &PageRequest::after(cursor, 500),
                )
                .await?;
            let page = unwrap_page(page)?;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    async fn list_moves(&self, site_id: Uuid, page: PageRequest) -> Result<Page<MoveRecord>, StoreError> {
        let page =
            self.list::<BodyRow, Parsed<MoveRecord>>(&self.record_statements.list_moves, (site_id,), &page).await?;
        unwrap_page(page)
    }

    async fn record_backend_users(
        &self,
        site_id: Uuid,
        taken_at: DateTime<Utc>,
        users: &[(Uuid, u64)],
    ) -> Result<(), StoreError> {
        let statement = &self.record_statements.put_backend_users;
        // Collected first, as in `write_batches`: a stream mapping through a closure trips the
        // `Send` check inside `async_trait` methods.
        let writes: Vec<_> = users
            .iter()
            .map(|(backend, count)| {
                let count = i64::try_from(*count).unwrap_or(i64::MAX);
                self.write(statement, (site_id, *backend, taken_at, count))
            })
            .collect();
        futures::stream::iter(writes).buffer_unordered(HISTORY_IN_FLIGHT).try_collect().await
    }

    async fn backend_users_history(
        &self,
        site_id: Uuid,
        backends: &[Uuid],
        since: DateTime<Utc>,
    ) -> Result<BTreeMap<Uuid, Vec<(DateTime<Utc>, u64)>>, StoreError> {
        let backends = history_backends(backends)?;
        let reads: Vec<_> =
            backends.into_iter().map(|backend| self.backend_users_since(site_id, backend, since)).collect();
        futures::stream::iter(reads).buffer_unordered(HISTORY_IN_FLIGHT).try_collect().await
    }

    async fn insert_replay(&self, run: &ReplayRun) -> Result<bool, StoreError> {
        let values = (run.site_id, run.id, run.status.as_str(), to_json(run)?);
        self.conditional(&self.record_statements.insert_replay, values).await
    }

    async fn update_replay(&self, run: &ReplayRun) -> Result<bool, StoreError> {
        let values = (run.status.as_str(), to_json(run)?, run.site_id, run.id);
        self.conditional(&self.record_statements.update_replay, values).await
    }

    async fn get_replay(&self, site_id: Uuid, id: Uuid) -> Result<Option<ReplayRun>, StoreError> {
        let row: Option<Parsed<ReplayRun>> =
            self.one::<BodyRow, Parsed<ReplayRun>>(&self.record_statements.get_replay, (site_id, id)).await?;
        row.map(|p| p.0.map_err(StoreError::Corrupt)).transpose()
    }
}

impl CassandraStore {
    /// One backend's points at or after `since`, oldest first (the clustering order). The
    /// driver pages the partition, which its time to live keeps to a month of points.
    async fn backend_users_since(
        &self,
        site_id: Uuid,
        backend: Uuid,
        since: DateTime<Utc>,
    ) -> Result<(Uuid, Vec<(DateTime<Utc>, u64)>), StoreError> {
        let statement = &self.record_statements.backend_users_since;
        let pager =
            self.session.execute_iter(statement.clone(), (site_id, backend, since)).await.map_err(unavailable)?;
        let points = pager
            .rows_stream::<UsersRow>()
            .map_err(unavailable)?
            .map_err(unavailable)
            .and_then(|row| async move {
                let users = u64::try_from(row.users.unwrap_or(0)).map_err(|_| {
                    StoreError::Corrupt(format!("negative users of backend {backend} at {}", row.taken_at))
                })?;
                Ok((row.taken_at, users))
            })
            .try_collect()
            .await?;
        Ok((backend, points))
    }
}
