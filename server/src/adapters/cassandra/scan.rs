//! The census's reads. `users`: the Murmur3 token ring cut into ranges that are read in
//! parallel, each paged (`WHERE token(username) > ? AND token(username) <= ?`); a whole-table
//! `SELECT` is paged by one coordinator, one page after another, while ranges let several
//! pages be read at once and spread the work over the replicas. `user_groups` (one partition
//! per site) is read with large pages.

use std::sync::Arc;

use app::{domain::geodb::Membership, ports::StoreError};
use chrono::{DateTime, Utc};
use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use scylla::{
    client::session::Session, serialize::row::SerializeRow, statement::prepared::PreparedStatement, DeserializeRow,
};
use uuid::Uuid;

use super::unavailable;

/// How a scan reads the ring: into how many ranges, how many read at once, rows per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanShape {
    pub ranges: usize,
    pub in_flight: usize,
    pub page_size: i32,
}

impl ScanShape {
    /// What the census uses, measured best on one node with 2 cores and 1,000,000 users
    /// (`server/examples/scan_bench.rs`, docs in its header).
    pub const CENSUS: ScanShape = ScanShape { ranges: 64, in_flight: 8, page_size: 5000 };
}

/// `n` ranges `(lo, hi]` that together cover every Murmur3 token once. Murmur3 never gives
/// `i64::MIN`, so starting just above it misses nothing.
pub fn token_ranges(n: usize) -> Vec<(i64, i64)> {
    let n = n.max(1) as i128;
    let (min, max) = (i64::MIN as i128, i64::MAX as i128);
    let bound = |i: i128| (min + (max - min) * i / n) as i64;
    (0..n).map(|i| (bound(i), bound(i + 1))).collect()
}

/// The columns the census needs: site, group, and when each was written (microseconds).
pub(super) const MEMBERSHIP_COLUMNS: &str = "username, preferred_site_id, group_name, \
     WRITETIME(preferred_site_id) AS site_written, WRITETIME(group_name) AS group_written";

#[derive(DeserializeRow)]
pub(super) struct MembershipRow {
    username: String,
    preferred_site_id: Option<Uuid>,
    group_name: Option<String>,
    site_written: Option<i64>,
    group_written: Option<i64>,
}

impl From<MembershipRow> for Membership {
    fn from(r: MembershipRow) -> Self {
        let written = r.site_written.max(r.group_written);
        Membership {
            username: r.username,
            preferred_site_id: r.preferred_site_id,
            group_name: r.group_name.unwrap_or_default(),
            written_at: written.and_then(DateTime::<Utc>::from_timestamp_micros),
        }
    }
}

/// Scans with `statement` (which selects [`MEMBERSHIP_COLUMNS`] in one token range),
/// `shape.in_flight` ranges at a time; each batch is at most a page.
pub(super) fn scan(
    session: Arc<Session>,
    statement: &PreparedStatement,
    shape: ScanShape,
) -> BoxStream<'static, Result<Vec<Membership>, StoreError>> {
    let mut statement = statement.clone();
    statement.set_page_size(shape.page_size.max(1));
    futures::stream::iter(token_ranges(shape.ranges))
        .map(move |range| pages::<MembershipRow, Membership, _>(session.clone(), statement.clone(), range))
        .flatten_unordered(shape.in_flight.max(1))
        .boxed()
}

/// Every row that `statement` selects with `values`, a page at a time (its page size): the
/// driver's pager fetches the next page while this one is being used.
pub(super) fn pages<R, T, V>(
    session: Arc<Session>,
    statement: PreparedStatement,
    values: V,
) -> BoxStream<'static, Result<Vec<T>, StoreError>>
where
    R: for<'frame, 'metadata> scylla::deserialize::row::DeserializeRow<'frame, 'metadata> + Into<T> + Send + 'static,
    T: Send + 'static,
    V: SerializeRow + Send + 'static,
{
    let page = statement.get_page_size().max(1) as usize;
    futures::stream::once(Box::pin(async move {
        let pager = session.execute_iter(statement, values).await.map_err(unavailable)?;
        Ok::<_, StoreError>(pager.rows_stream::<R>().map_err(unavailable)?.map_err(unavailable))
    }))
    .try_flatten()
    .ready_chunks(page)
    .map(|rows| rows.into_iter().map(|row| row.map(Into::into)).collect::<Result<Vec<T>, _>>())
    .boxed()
}
