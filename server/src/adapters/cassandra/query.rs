//! Running prepared statements: one page of rows, one row, a write, a lightweight transaction,
//! many writes as unlogged batches.

use domain::{Page, PageRequest};

use futures::{StreamExt, TryStreamExt};
use palomar_core::ports::StoreError;
use scylla::{
    deserialize::row::DeserializeRow,
    serialize::row::SerializeRow,
    statement::{
        batch::{Batch, BatchType},
        prepared::PreparedStatement,
    },
};

use super::{next_cursor, page_error, paged, paging_state, unavailable, CassandraStore};

/// Whether a lightweight transaction was applied: the first column of its answer.
pub(super) fn applied(result: scylla::response::query_result::QueryResult) -> Result<bool, StoreError> {
    let rows = result.into_rows_result().map_err(corrupt)?;
    let first = rows.maybe_first_row::<scylla::value::Row>().map_err(corrupt)?;
    Ok(matches!(
        first.and_then(|row| row.columns.into_iter().next().flatten()),
        Some(scylla::value::CqlValue::Boolean(true))
    ))
}

/// The values an `IF column IN (?, ?)` condition takes for an int read as `seen`: a column read
/// as 0 may be null in the table (Dovecot and older rows leave it unset), so 0 matches both.
pub(super) fn seen_int(seen: i32) -> (Option<i32>, Option<i32>) {
    if seen == 0 {
        (None, Some(0))
    } else {
        (Some(seen), Some(seen))
    }
}

/// As [`seen_int`] for text: an empty value read matches null and ''.
pub(super) fn seen_text(seen: &str) -> (Option<&str>, Option<&str>) {
    if seen.is_empty() {
        (None, Some(""))
    } else {
        (Some(seen), Some(seen))
    }
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

impl CassandraStore {
    /// Reads one page of `statement`'s rows.
    pub(super) async fn list<R, T>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
        request: &PageRequest,
    ) -> Result<Page<T>, StoreError>
    where
        R: for<'frame> DeserializeRow<'frame, 'frame> + Into<T>,
    {
        let state = paging_state(request.cursor.as_deref())?;
        let (result, response) = self
            .session
            .execute_single_page(&paged(statement, request.limit), values, state)
            .await
            .map_err(page_error(request.cursor.is_some()))?;
        let rows = result.into_rows_result().map_err(corrupt)?;
        let items = rows
            .rows::<R>()
            .map_err(corrupt)?
            .map(|row| row.map(Into::into).map_err(corrupt))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next: next_cursor(response) })
    }

    /// Reads the single row `statement` selects, if any.
    pub(super) async fn one<R, T>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Option<T>, StoreError>
    where
        R: for<'frame> DeserializeRow<'frame, 'frame> + Into<T>,
    {
        let result = self.session.execute_unpaged(statement, values).await.map_err(unavailable)?;
        let rows = result.into_rows_result().map_err(corrupt)?;
        Ok(rows.maybe_first_row::<R>().map_err(corrupt)?.map(Into::into))
    }

    /// Runs a lightweight transaction; whether it was applied.
    pub(super) async fn conditional(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<bool, StoreError> {
        applied(self.session.execute_unpaged(statement, values).await.map_err(unavailable)?)
    }

    /// Runs a statement that returns no rows.
    pub(super) async fn write(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<(), StoreError> {
        self.session.execute_unpaged(statement, values).await.map_err(unavailable)?;
        Ok(())
    }

    /// Runs `statement` once per element of `rows`, as unlogged batches of up to `per_batch`
    /// (one request each instead of one per row), [`BATCHES_IN_FLIGHT`] at a time. Not
    /// atomic: on an error, some rows may be written.
    pub(super) async fn write_batches<V: SerializeRow + Sync>(
        &self,
        statement: &PreparedStatement,
        rows: Vec<V>,
        per_batch: usize,
    ) -> Result<(), StoreError> {
        // Collected first: a stream mapping through a closure here trips the compiler's `Send`
        // check inside `async_trait` methods (a known higher-ranked lifetime limitation).
        let batches: Vec<_> = rows
            .chunks(per_batch.max(1))
            .map(|chunk| async move {
                // Built when sent, not when collected: a batch holds a statement per row, and
                // only those in flight need to exist (the census writes 1,000,000 rows).
                let mut batch = Batch::new(BatchType::Unlogged);
                for _ in chunk {
                    batch.append_statement(statement.clone());
                }
                self.session.batch(&batch, chunk).await.map(|_| ()).map_err(unavailable)
            })
            .collect();
        futures::stream::iter(batches).buffer_unordered(BATCHES_IN_FLIGHT).try_collect().await
    }
}

/// Unlogged batches in flight per [`CassandraStore::write_batches`] call.
pub(super) const BATCHES_IN_FLIGHT: usize = 16;
