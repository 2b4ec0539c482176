//! The embedded store: every table in memory, in key order. It behaves like the Cassandra
//! adapter as far as the ports can tell; the conformance suite (`server/tests/it/geodb_conformance`)
//! holds both to that.
//!
//! One file per port (`geodb`, `operators`, `audit`, `members`, `lease`, `records`, `plans`;
//! `geodb` is a directory with one file per table area; `users` holds the user rows' write
//! times and the census's scan); they all read and write the one `Tables` behind the store's lock.

mod audit;
mod geodb;
mod lease;
mod members;
mod operators;
mod plans;
mod records;
mod users;

use std::{
    cmp::Reverse,
    collections::BTreeMap,
    ops::Bound,
    sync::{RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use domain::{
    audit::AuditRecord,
    decisions::DecisionRecord,
    geodb::{Backend, BackendStat, ClusterSetting, GroupSite, ProxyDestStat, Reachability, User, UserGroup},
    moves::{MoveRecord, PlanEntry},
    Page, PageRequest, Site, Tag,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use palomar_core::ports::{OperatorRecord, StoreError};
use uuid::Uuid;

/// Every table. The keys of the paged ones sort like the Cassandra rows, so pages come out in the same order.
#[derive(Default)]
struct Tables {
    tags: BTreeMap<Uuid, Tag>,
    sites: BTreeMap<Uuid, Site>,
    backends: BTreeMap<(Uuid, Uuid), Backend>,
    groups: BTreeMap<(Uuid, String), UserGroup>,
    users: BTreeMap<String, User>,
    /// Per user: when their site or group was last written (Cassandra's `WRITETIME`).
    membership_written: BTreeMap<String, chrono::DateTime<chrono::Utc>>,
    operators: BTreeMap<String, OperatorRecord>,
    /// Who holds the operators lock, until when.
    operators_lock: Option<(uuid::Uuid, std::time::Instant)>,
    /// Per operator: the session epoch (revocation).
    session_epochs: BTreeMap<String, Uuid>,
    api_tokens: BTreeMap<Uuid, domain::token::TokenRecord>,
    settings: BTreeMap<(String, Uuid, Uuid, String), ClusterSetting>,
    reachability: BTreeMap<(Uuid, Uuid), Reachability>,
    /// When each reachability row's value was last written.
    reachability_written: BTreeMap<(Uuid, Uuid), chrono::DateTime<chrono::Utc>>,
    group_sites: BTreeMap<(String, Uuid), GroupSite>,
    backend_stats: BTreeMap<(Uuid, Uuid, String), BackendStat>,
    proxy_dest_stats: BTreeMap<(Uuid, String, String, String), ProxyDestStat>,
    /// Per site: the lease holder, its token and when it expires; and the last token given.
    leases: BTreeMap<String, (String, u64, std::time::Instant)>,
    lease_tokens: BTreeMap<String, u64>,
    /// (site, group, username) → the username and when the record was written.
    members: BTreeMap<(Uuid, String, String), (String, chrono::DateTime<chrono::Utc>)>,
    /// Removed member records and up to which write time they were removed: like Cassandra's
    /// tombstones, they hide records put later with an older write time.
    member_removals: BTreeMap<(Uuid, String, String), chrono::DateTime<chrono::Utc>>,
    /// When the census that last recorded every membership change began.
    members_synced_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Newest first within a day, like the Cassandra table's clustering order.
    audit: BTreeMap<(chrono::NaiveDate, Reverse<i64>, Uuid), AuditRecord>,
    /// Per site and day, newest first.
    decisions: BTreeMap<(Uuid, chrono::NaiveDate, Reverse<i64>, Uuid), DecisionRecord>,
    /// Per site, newest first; and the active ones by id.
    moves: BTreeMap<(Uuid, Reverse<i64>, Uuid), MoveRecord>,
    active_moves: BTreeMap<(Uuid, Uuid), MoveRecord>,
    /// Replays by (site, id).
    replays: BTreeMap<(Uuid, Uuid), domain::replay::ReplayRun>,
    /// Users per backend at each recorded census: (site, backend) → milliseconds → users,
    /// oldest first like the Cassandra partition.
    backend_users: BTreeMap<(Uuid, Uuid), BTreeMap<i64, u64>>,
    /// Per site: when the plan was made, its size, and what is left of it.
    plans: BTreeMap<String, (chrono::DateTime<chrono::Utc>, u64, std::collections::VecDeque<PlanEntry>)>,
}

/// The GeoDB and the controller's tables in process memory.
#[derive(Default)]
pub struct EmbeddedStore {
    tables: RwLock<Tables>,
}

impl EmbeddedStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // Nothing panics while holding the lock, so a poisoned lock still guards consistent tables.
    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of rows in `users`, for the demo's start-up message.
    pub fn user_count(&self) -> usize {
        self.read().users.len()
    }
}

/// A conditional write: only if the row under `key` is `seen` (`None`: there is none), it becomes
/// `new` (`None`: removed). Returns whether it was written.
pub(super) fn replace_if<K: Ord, V: PartialEq + Clone>(
    rows: &mut BTreeMap<K, V>,
    key: K,
    seen: Option<&V>,
    new: Option<&V>,
) -> bool {
    if rows.get(&key) != seen {
        return false;
    }
    match new {
        Some(row) => rows.insert(key, row.clone()),
        None => rows.remove(&key),
    };
    true
}

/// Reads one page of `map` within the partition `lo..=hi`, starting after the cursor's key.
fn page<K: Ord + Clone, V: Clone>(
    map: &BTreeMap<K, V>,
    lo: Bound<K>,
    hi: Bound<K>,
    request: &PageRequest,
    decode: impl Fn(&str) -> Option<K>,
    encode: impl Fn(&K) -> String,
) -> Result<Page<V>, StoreError> {
    // Cursors are base64url so that they are opaque and safe in links, as Cassandra's are.
    let start = match &request.cursor {
        Some(cursor) => {
            let raw = URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(StoreError::BadCursor)?;
            Bound::Excluded(decode(&raw).ok_or(StoreError::BadCursor)?)
        }
        None => lo,
    };
    let limit = request.limit.max(1) as usize;
    let mut rows = map.range((start, hi));
    let items: Vec<(K, V)> = rows.by_ref().take(limit).map(|(k, v)| (k.clone(), v.clone())).collect();
    let next = match (items.last(), rows.next()) {
        (Some((last, _)), Some(_)) => Some(URL_SAFE_NO_PAD.encode(encode(last))),
        _ => None,
    };
    Ok(Page { items: items.into_iter().map(|(_, v)| v).collect(), next })
}

fn uuid_key(cursor: &str) -> Option<Uuid> {
    Uuid::parse_str(cursor).ok()
}
