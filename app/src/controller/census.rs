//! The census: counts that need a whole-table read, taken on a timer and shared by the
//! controller (group sizes) and the pages (users per group and backend).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::group_tally::GroupTally;
use crate::{
    domain::geodb::Membership,
    ports::{Clock, GeoDb, GroupMembers, MemberRecord, StoreError},
};

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
}

impl Census {
    pub fn latest(&self) -> Arc<CensusSnapshot> {
        self.latest.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Reads every site's groups and the whole `users` table (at once), records the group
    /// memberships written since the previous census (all of them the first time), then
    /// publishes the counts.
    ///
    /// A membership counts as written since the previous census when its write time is at or
    /// after that census's start less `margin`, both on the store's clock: the margin covers
    /// writers whose clocks run behind and writes that reach the replicas read late. Memory
    /// stays bounded by the number of groups: users are counted a batch at a time.
    pub async fn refresh(
        &self,
        geodb: &dyn GeoDb,
        members: &dyn GroupMembers,
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
        snapshot.taken_at = Some(clock.now());
        if let Ok(mut latest) = self.latest.write() {
            *latest = Arc::new(snapshot);
        }
        Ok(CensusReport { users: tally.users, members_written: tally.members_written, full: previous.is_none() })
    }
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
async fn group_owners(geodb: &dyn GeoDb) -> Result<HashMap<(Uuid, String), Uuid>, StoreError> {
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
    geodb: &dyn GeoDb,
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
