//! The census's reads. `users`: the Murmur3 token ring cut into ranges that are read in
//! parallel, each paged (`WHERE token(username) > ? AND token(username) <= ?`); a whole-table
//! `SELECT` is paged by one coordinator, one page after another, while ranges let several
//! pages be read at once and spread the work over the replicas. `user_groups` (one partition
//! per site) is read with large pages.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use domain::geodb::Membership;

use chrono::{DateTime, Utc};
use futures::{
    stream::{BoxStream, FuturesUnordered},
    StreamExt, TryStreamExt,
};
use palomar_core::ports::StoreError;
use scylla::{
    client::session::Session, serialize::row::SerializeRow, statement::prepared::PreparedStatement, DeserializeRow,
};
use tokio::sync::mpsc::Sender;
use uuid::Uuid;

use super::unavailable;
use crate::request_load::RequestLoad;

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
/// `shape.in_flight` ranges at a time, or one at a time with pauses while `requests` is busy;
/// each batch is at most a page. Each range is read and its rows decoded in a task of its own,
/// so that decoding runs beside the caller's work.
pub(super) fn scan(
    session: Arc<Session>,
    statement: &PreparedStatement,
    shape: ScanShape,
    requests: Arc<RequestLoad>,
) -> BoxStream<'static, Result<Vec<Membership>, StoreError>> {
    let mut statement = statement.clone();
    statement.set_page_size(shape.page_size.max(1));
    // One finished page waits, beside the one each reader holds until it can send: a caller
    // that writes as it reads (the first census) holds the readers back instead of letting
    // decoded pages pile up in memory, and a caller that keeps up takes each page at once.
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let readers = Readers { session, statement, in_flight: shape.in_flight, requests, sender };
    tokio::spawn(readers.read(token_ranges(shape.ranges)));
    futures::stream::unfold(receiver, |mut receiver| async move { Some((receiver.recv().await?, receiver)) }).boxed()
}

/// While the server answers requests, a range read alone is followed by a pause this many
/// times as long as the read: the scan then takes at most an eighth of one reader's pace.
const GIVE_WAY: u32 = 7;
/// The longest pause after one range.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// How many ranges may be read at once: all the shape allows while the server is quiet, one
/// while it answers requests.
fn ranges_at_once(in_flight: usize, busy: bool) -> usize {
    if busy {
        1
    } else {
        in_flight.max(1)
    }
}

/// The pause after a range that took `took` to read, while the server is busy.
fn pause_after(took: Duration) -> Duration {
    took.saturating_mul(GIVE_WAY).min(LONGEST_PAUSE)
}

/// The tasks that read the ranges and send their batches.
struct Readers {
    session: Arc<Session>,
    statement: PreparedStatement,
    in_flight: usize,
    requests: Arc<RequestLoad>,
    sender: Sender<Result<Vec<Membership>, StoreError>>,
}

impl Readers {
    /// Reads every range, each in a task of its own, as many at once as [`ranges_at_once`]
    /// says, and sends its batches. A task that died is reported as a failure: its rows would
    /// be missing. Once the receiver is gone (the caller stopped reading), no range is started
    /// any more.
    async fn read(self, ranges: Vec<(i64, i64)>) {
        let mut ranges = ranges.into_iter();
        let mut running = FuturesUnordered::new();
        loop {
            if self.sender.is_closed() {
                return;
            }
            if running.len() < ranges_at_once(self.in_flight, self.requests.busy()) {
                if let Some(range) = ranges.next() {
                    running.push(tokio::spawn(self.read_range(range)));
                    continue;
                }
            }
            match running.next().await {
                None => return,
                Some(Err(err)) => {
                    let _ = self.sender.send(Err(StoreError::Unavailable(format!("a scan task failed: {err}")))).await;
                    return;
                }
                Some(Ok(took)) => {
                    if self.requests.busy() {
                        tokio::time::sleep(pause_after(took)).await;
                    }
                }
            }
        }
    }

    /// Reads one range and sends its batches; says how long that took.
    fn read_range(&self, range: (i64, i64)) -> impl std::future::Future<Output = Duration> + Send + 'static {
        let (session, statement, sender) = (self.session.clone(), self.statement.clone(), self.sender.clone());
        async move {
            let started = Instant::now();
            let mut batches = pages::<MembershipRow, Membership, _>(session, statement, range);
            while let Some(batch) = batches.next().await {
                let failed = batch.is_err();
                if sender.send(batch).await.is_err() || failed {
                    break;
                }
            }
            started.elapsed()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::{pause_after, ranges_at_once, token_ranges, LONGEST_PAUSE};
    use std::time::Duration;

    #[test]
    fn requests_being_answered_leave_one_range_at_a_time_with_pauses() {
        assert_eq!(ranges_at_once(8, false), 8);
        assert_eq!(ranges_at_once(8, true), 1);
        assert_eq!(ranges_at_once(0, false), 1, "never none: the census always ends");
        assert_eq!(pause_after(Duration::from_millis(100)), Duration::from_millis(700));
        assert_eq!(pause_after(Duration::from_secs(10)), LONGEST_PAUSE);
    }

    #[test]
    fn the_ranges_cover_the_ring_once_without_gaps() {
        for n in [1, 2, 7, 64, 1000] {
            let ranges = token_ranges(n);
            assert_eq!(ranges.len(), n);
            assert_eq!((ranges[0].0, ranges[n - 1].1), (i64::MIN, i64::MAX));
            assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0), "each starts where the last ended");
            assert!(ranges.iter().all(|(lo, hi)| lo < hi), "none empty");
        }
        assert_eq!(token_ranges(0), token_ranges(1));
    }
}
