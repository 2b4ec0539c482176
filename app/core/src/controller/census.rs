//! The census: counts that need a whole-table read, taken on a timer and shared by the
//! controller (group sizes) and the pages (users per group and backend).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::group_tally::GroupTally;
use crate::ports::{
    read_all, BackendTable, Clock, GeoDb, GroupMembers, GroupTable, MemberRecord, RecordStore, StoreError, UserTable,
};
use domain::{geodb::Membership, logtext::Untrusted};

/// How often the census keeps a site's users per backend: hourly points keep a month of
/// 1,000 backends at 24,000 rows a day.
pub const BACKEND_USERS_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// Counts that need a whole-table read (users per group, groups per backend). A background
/// task takes them now and then, a batch at a time and keeping only counts, so that no page
/// load ever scans a table.
#[derive(Debug, Clone, Default)]
pub struct CensusSnapshot {
    pub taken_at: Option<DateTime<Utc>>,
    pub groups_per_backend: HashMap<Uuid, u64>,
    pub users_per_group: HashMap<(Uuid, String), u64>,
    pub users_per_backend: HashMap<Uuid, u64>,
}

impl CensusSnapshot {
    /// Users the census found in a group (0 when it found none or has not run).
    pub fn users_in(&self, site_id: Uuid, group: &str) -> u64 {
        self.users_per_group.get(&(site_id, group.to_string())).copied().unwrap_or(0)
    }
}

/// The latest census, shared by every request.
#[derive(Default)]
pub struct Census {
    latest: std::sync::RwLock<Arc<CensusSnapshot>>,
    /// Per site: when this process last recorded its users per backend. In memory only, so
    /// the first census after a start records (a restart costs at most one extra point).
    users_recorded: std::sync::Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl Census {
    pub fn latest(&self) -> Arc<CensusSnapshot> {
        self.latest.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Reads every site's groups and the whole `users` table (at once), records the group
    /// memberships written since the previous census (all of them the first time), then
    /// publishes the counts and keeps each site's users per backend in `history` (at most
    /// once per [`BACKEND_USERS_EVERY`] per site; a failure there is logged, not returned).
    ///
    /// A membership counts as written since the previous census when its write time is at or
    /// after that census's start less `margin`, both on the store's clock: the margin covers
    /// writers whose clocks run behind and writes that reach the replicas read late. Memory
    /// stays bounded by the number of groups: users are counted a batch at a time.
    pub async fn refresh(
        &self,
        geodb: &dyn GeoDb,
        members: &dyn GroupMembers,
        history: &dyn RecordStore,
        margin: std::time::Duration,
        clock: &dyn Clock,
    ) -> Result<CensusReport, StoreError> {
        let started = geodb.store_time().await?;
        let previous = members.synced_at().await?;
        let since = previous.map(|at| at - chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::zero()));
        let (owners, tally) = futures::try_join!(group_owners(geodb), count_users(geodb, members, since))?;
        let mut snapshot = CensusSnapshot::default();
        for backend in owners.values() {
            *snapshot.groups_per_backend.entry(*backend).or_default() += 1;
        }
        snapshot.users_per_group = tally.users_per_group.into_map();
        for (key, users) in &snapshot.users_per_group {
            if let Some(backend) = owners.get(key) {
                *snapshot.users_per_backend.entry(*backend).or_default() += users;
            }
        }
        // Only now is every change before `started` recorded; a census that failed half-way
        // leaves the mark where it was, so the next one writes its changes again.
        members.set_synced_at(started).await?;
        let taken_at = clock.now();
        snapshot.taken_at = Some(taken_at);
        let snapshot = Arc::new(snapshot);
        if let Ok(mut latest) = self.latest.write() {
            *latest = snapshot.clone();
        }
        self.record_backend_users(geodb, history, &snapshot, taken_at).await;
        Ok(CensusReport { users: tally.users, members_written: tally.members_written, full: previous.is_none() })
    }

    /// Records the users per backend of every site whose last point is [`BACKEND_USERS_EVERY`]
    /// old or more. The counts are already published: a store that fails here only loses a
    /// chart point, so it is logged and the next census tries again.
    async fn record_backend_users(
        &self,
        geodb: &dyn GeoDb,
        history: &dyn RecordStore,
        snapshot: &CensusSnapshot,
        at: DateTime<Utc>,
    ) {
        let sites = match read_all(|page| geodb.list_sites(page)).await {
            Ok(sites) => sites,
            Err(err) => {
                tracing::warn!(error = %Untrusted(&err), "cannot read the sites to record users per backend; the next census tries again");
                return;
            }
        };
        for site in sites {
            if !self.backend_users_due(site.id, at) {
                continue;
            }
            match record_site_users(geodb, history, site.id, snapshot, at).await {
                Ok(()) => {
                    if let Ok(mut recorded) = self.users_recorded.lock() {
                        recorded.insert(site.id, at);
                    }
                }
                Err(err) => tracing::warn!(
                    site_id = %site.id,
                    error = %Untrusted(&err),
                    "cannot record users per backend; the next census tries again"
                ),
            }
        }
    }

    /// Whether `site` has no point from this process yet, or one [`BACKEND_USERS_EVERY`] away
    /// from `at` (either way: a clock set back far does not stop the recording).
    fn backend_users_due(&self, site: Uuid, at: DateTime<Utc>) -> bool {
        let recorded = self.users_recorded.lock().map(|r| r.get(&site).copied()).unwrap_or(None);
        recorded.is_none_or(|last| (at - last).abs() >= BACKEND_USERS_EVERY)
    }
}

/// Records one site's backends with the users the census found on each (0 for a backend that
/// owns no group, so a new backend's line starts at 0).
async fn record_site_users(
    geodb: &dyn BackendTable,
    history: &dyn RecordStore,
    site: Uuid,
    snapshot: &CensusSnapshot,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let backends = read_all(|page| geodb.list_backends(site, page)).await?;
    let users: Vec<(Uuid, u64)> =
        backends.iter().map(|b| (b.id, snapshot.users_per_backend.get(&b.id).copied().unwrap_or(0))).collect();
    if users.is_empty() {
        return Ok(());
    }
    history.record_backend_users(site, at, &users).await
}

/// What a census did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CensusReport {
    /// Users read.
    pub users: u64,
    /// Group member records written.
    pub members_written: u64,
    /// True when there was no previous census, so every membership was recorded.
    pub full: bool,
}

/// Batches of member records written at once while the scan goes on.
const WRITES_IN_FLIGHT: usize = 4;

/// Every site's groups that have a backend, with that backend.
async fn group_owners(geodb: &dyn GroupTable) -> Result<HashMap<(Uuid, String), Uuid>, StoreError> {
    let mut owners = HashMap::new();
    let mut batches = geodb.scan_group_backends();
    while let Some(batch) = batches.try_next().await? {
        owners.extend(batch.into_iter().filter_map(|g| Some(((g.site_id, g.name), g.backend_id?))));
    }
    Ok(owners)
}

/// The counts of one pass over `users`.
struct Tally {
    users: u64,
    members_written: u64,
    users_per_group: GroupTally,
}

/// Counts users per group over the whole scan and records the memberships written at or
/// after `since` (all of them when `None`), a batch at a time.
async fn count_users(
    geodb: &dyn UserTable,
    members: &dyn GroupMembers,
    since: Option<DateTime<Utc>>,
) -> Result<Tally, StoreError> {
    let mut tally = Tally { users: 0, members_written: 0, users_per_group: GroupTally::default() };
    let counts = &mut tally;
    geodb
        .scan_memberships()
        .map_ok(|batch| {
            let changed = changed_members(&batch, since);
            counts.users += batch.len() as u64;
            counts.members_written += changed.len() as u64;
            for (site, group) in batch.iter().filter_map(Membership::group_key) {
                counts.users_per_group.add(site, group);
            }
            async move {
                if changed.is_empty() {
                    Ok(())
                } else {
                    members.put_members(&changed).await
                }
            }
        })
        .try_buffer_unordered(WRITES_IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    Ok(tally)
}

/// The member records of a batch that must be written: users with a site whose membership
/// was written at or after `since` (all when `None`). A write time the store does not know
/// counts as a change.
pub fn changed_members(batch: &[Membership], since: Option<DateTime<Utc>>) -> Vec<MemberRecord> {
    batch
        .iter()
        .filter_map(|user| {
            let (site_id, group) = user.group_key()?;
            let changed = match (since, user.written_at) {
                (Some(since), Some(at)) => at >= since,
                _ => true,
            };
            changed.then(|| MemberRecord { site_id, group: group.to_string(), username: user.username.clone() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, site: Option<Uuid>, group: &str, written_at: Option<DateTime<Utc>>) -> Membership {
        Membership { username: name.into(), preferred_site_id: site, group_name: group.into(), written_at }
    }

    #[test]
    fn only_memberships_written_since_the_mark_are_recorded_and_all_without_one() {
        let site = Uuid::from_u128(7);
        let mark = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let second = chrono::Duration::seconds(1);
        let batch = [
            user("old", Some(site), "g1", Some(mark - second)),
            user("at-the-mark", Some(site), "g1", Some(mark)),
            user("new", Some(site), "g2", Some(mark + second)),
            user("no-time", Some(site), "g3", None),
            user("no-site", None, "g1", Some(mark + second)),
        ];
        let names = |records: Vec<MemberRecord>| records.into_iter().map(|r| r.username).collect::<Vec<_>>();
        assert_eq!(names(changed_members(&batch, Some(mark))), ["at-the-mark", "new", "no-time"]);
        assert_eq!(names(changed_members(&batch, None)), ["old", "at-the-mark", "new", "no-time"]);
        let new = &changed_members(&batch, Some(mark))[1];
        assert_eq!((new.site_id, new.group.as_str()), (site, "g2"));
    }
}
