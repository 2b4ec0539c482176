//! Writes a consistent sample cluster through the GeoDB port, so it works on any adapter:
//! the demo's (2 sites, 6 backends, 200 groups, 20,000 users) or one at scale for the
//! simulator and the benchmarks (`palomar simulate seed`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use domain::{
    geodb::{Backend, BackendStatus, User, UserGroup},
    Site, SiteStatus, Tag,
};

use chrono::Utc;
use futures::{stream, StreamExt, TryStreamExt};
use palomar_core::ports::{GeoDb, StoreError};
use uuid::Uuid;

/// The size of a sample cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSize {
    pub sites: usize,
    pub backends_per_site: usize,
    pub groups_per_site: usize,
    pub users: usize,
}

impl SampleSize {
    /// What the demo starts with.
    pub const DEMO: SampleSize = SampleSize { sites: 2, backends_per_site: 3, groups_per_site: 100, users: 20_000 };
}

/// What a seed wrote and how fast.
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub sites: Vec<Site>,
    pub rows: u64,
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Users per `put_users` call: the Cassandra adapter sends them as 16 batches of 10 at once.
const USERS_PER_CALL: usize = 160;
/// Groups per `put_groups` call: the Cassandra adapter sends them as batches of 100.
const GROUPS_PER_CALL: usize = 1600;
/// Tries per `put_users` call: a node that falls behind answers a write timeout, and the rows
/// are whole rows this writer owns, so writing them again is safe.
const TRIES: u32 = 4;
/// Requests each `put_users` call makes at once with the Cassandra adapter: `concurrency`
/// counts requests, so the calls in flight are `concurrency` over this.
const REQUESTS_PER_CALL: usize = 16;

/// Site names: the first is the controller's default `CLUSTER_SITE`.
pub fn site_name(index: usize) -> String {
    format!("dc{}a", index + 1)
}

/// Writes the cluster with about `concurrency` writes in flight (users go in batches, see
/// [`UserTable::put_users`](palomar_core::ports::UserTable::put_users)). Users are spread over
/// sites and, within a site, over its groups; groups over backends; each group's alternative
/// backend is the next one.
pub async fn seed_sample_cluster(
    geodb: Arc<dyn GeoDb>,
    size: SampleSize,
    concurrency: usize,
) -> Result<SeedReport, StoreError> {
    seed_with_progress(geodb, size, concurrency, |_| {}).await
}

/// As [`seed_sample_cluster`], calling `progress` with the number of users written so far
/// after every 100,000 (at most once per batch of users).
pub async fn seed_with_progress(
    geodb: Arc<dyn GeoDb>,
    size: SampleSize,
    concurrency: usize,
    progress: impl Fn(usize),
) -> Result<SeedReport, StoreError> {
    let started = Instant::now();
    let mut rows = 0u64;
    let tag = Tag { id: Uuid::new_v4(), tag: "eu".into() };
    geodb.put_tag(&tag).await?;
    rows += 1;
    let mut sites = Vec::with_capacity(size.sites);
    let mut groups = Vec::new();
    for s in 0..size.sites {
        let name = site_name(s);
        let site = Site {
            id: Uuid::new_v4(),
            load_balancer: format!("lb.{name}.example.net"),
            name,
            tag: Some(tag.id),
            status: SiteStatus::Online,
        };
        geodb.put_site(&site).await?;
        rows += 1;
        let backends: Vec<Backend> = (0..size.backends_per_site)
            .map(|b| Backend {
                site_id: site.id,
                id: Uuid::new_v4(),
                load_factor: 100,
                host: format!("be{}.{}.example.net", b + 1, site.name),
                status: BackendStatus::Online,
                status_reason: String::new(),
                last_moved_from: String::new(),
                last_moved_to: String::new(),
            })
            .collect();
        stream::iter(backends.iter().map(Ok::<_, StoreError>))
            .try_for_each_concurrent(concurrency.max(1), |backend| {
                let geodb = geodb.clone();
                async move { geodb.put_backend(backend).await }
            })
            .await?;
        rows += backends.len() as u64;
        let count = backends.len();
        for g in 0..size.groups_per_site {
            groups.push(UserGroup {
                site_id: site.id,
                name: format!("default-{}", g + 1),
                backend_id: (count > 0).then(|| backends[g % count].id),
                alt_backend_id: (count > 1).then(|| backends[(g + 1) % count].id),
                sticky_users: 0,
                moving: String::new(),
                refresh_after: None,
                sticky_backend: 0,
            });
        }
        sites.push(site);
    }
    let concurrency = concurrency.max(1);
    rows += groups.len() as u64;
    let calls = concurrency.div_ceil(REQUESTS_PER_CALL).max(1);
    stream::iter(groups.chunks(GROUPS_PER_CALL).map(Ok::<_, StoreError>))
        .try_for_each_concurrent(calls, |chunk| {
            let geodb = geodb.clone();
            async move { geodb.put_groups(chunk).await }
        })
        .await?;
    if !sites.is_empty() && size.groups_per_site > 0 {
        let now = Utc::now();
        let site_ids: Vec<Uuid> = sites.iter().map(|s| s.id).collect();
        let (n_sites, n_groups) = (site_ids.len(), size.groups_per_site);
        let user = |u: usize| {
            let group = format!("default-{}", (u / n_sites) % n_groups + 1);
            User {
                username: format!("user{u:07}@example.net"),
                preferred_site_id: Some(site_ids[u % n_sites]),
                failover_site_group_name: group.clone(),
                group_name: group,
                metacache_last_host: String::new(),
                moving_preferred_site_id: None,
                moving_group_name: String::new(),
                moving_failover_site_group_name: String::new(),
                last_update: Some(now),
            }
        };
        let mut written = 0;
        let mut writes = stream::iter((0..size.users).step_by(USERS_PER_CALL))
            .map(|first| {
                let users: Vec<User> = (first..(first + USERS_PER_CALL).min(size.users)).map(user).collect();
                let geodb = geodb.clone();
                async move {
                    let mut tries = 1;
                    loop {
                        match geodb.put_users(&users).await {
                            Ok(()) => return Ok(users.len()),
                            Err(err) if tries >= TRIES => return Err(err),
                            Err(_) => {
                                tokio::time::sleep(std::time::Duration::from_millis(500 * u64::from(tries))).await;
                                tries += 1;
                            }
                        }
                    }
                }
            })
            .buffer_unordered(calls);
        while let Some(count) = writes.try_next().await? {
            written += count;
            progress(written);
        }
        rows += size.users as u64;
    }
    Ok(SeedReport { sites, rows, elapsed: started.elapsed() })
}
