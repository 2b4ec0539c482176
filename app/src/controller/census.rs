//! The census: counts that need a whole-table read, taken on a timer and shared by the
//! controller (group sizes) and the pages (users per group and backend).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    domain::{page::MAX_PAGE_SIZE, PageRequest},
    ports::{Clock, GeoDb, GroupMembers, StoreError},
};

/// Counts that need a whole-table read (users per group, groups per backend). A background
/// task takes them now and then, page by page and keeping only counts, so that no page load
/// ever scans a table.
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

    /// Reads every site's groups and the whole `users` table, records each user's group
    /// membership (kept for `membership_ttl`), then publishes the counts.
    pub async fn refresh(
        &self,
        geodb: &dyn GeoDb,
        members: &dyn GroupMembers,
        membership_ttl: std::time::Duration,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        let mut snapshot = CensusSnapshot::default();
        let mut owner: HashMap<(Uuid, String), Uuid> = HashMap::new();
        let mut sites_cursor = None;
        loop {
            let sites = geodb.list_sites(PageRequest::after(sites_cursor, MAX_PAGE_SIZE)).await?;
            for site in &sites.items {
                let mut cursor = None;
                loop {
                    let page = geodb.list_groups(site.id, PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
                    for group in page.items {
                        if let Some(backend) = group.backend_id {
                            *snapshot.groups_per_backend.entry(backend).or_default() += 1;
                            owner.insert((site.id, group.name), backend);
                        }
                    }
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
            match sites.next {
                Some(next) => sites_cursor = Some(next),
                None => break,
            }
        }
        let mut cursor = None;
        loop {
            let page = geodb.list_users(PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
            let writes = page
                .items
                .iter()
                .filter_map(|u| u.preferred_site_id.map(|site| (site, u)))
                .map(|(site, u)| members.put_member(site, &u.group_name, &u.username, membership_ttl));
            futures::future::try_join_all(writes).await?;
            for user in page.items {
                let Some(site) = user.preferred_site_id else { continue };
                let key = (site, user.group_name);
                if let Some(backend) = owner.get(&key) {
                    *snapshot.users_per_backend.entry(*backend).or_default() += 1;
                }
                *snapshot.users_per_group.entry(key).or_default() += 1;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        snapshot.taken_at = Some(clock.now());
        if let Ok(mut latest) = self.latest.write() {
            *latest = Arc::new(snapshot);
        }
        Ok(())
    }
}
