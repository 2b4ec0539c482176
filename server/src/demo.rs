//! The demo's sample cluster: 2 sites, 6 backends, 200 groups and 20,000 users, written
//! through the GeoDB port so it works on any adapter.

use app::{
    domain::{
        geodb::{Backend, User, UserGroup},
        Site, SiteStatus, Tag,
    },
    ports::{GeoDb, StoreError},
};
use chrono::Utc;
use uuid::Uuid;

/// The size of a sample cluster.
#[derive(Debug, Clone, Copy)]
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

/// Site names: the first is the controller's default `CLUSTER_SITE`.
fn site_name(index: usize) -> String {
    format!("dc{}a", index + 1)
}

/// Writes a consistent sample cluster and returns its sites.
pub async fn seed_sample_cluster(geodb: &dyn GeoDb, size: SampleSize) -> Result<Vec<Site>, StoreError> {
    let tag = Tag { id: Uuid::new_v4(), tag: "eu".into() };
    geodb.put_tag(&tag).await?;
    let mut sites = Vec::with_capacity(size.sites);
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
        let backends: Vec<Backend> = (0..size.backends_per_site)
            .map(|b| Backend {
                site_id: site.id,
                id: Uuid::new_v4(),
                load_factor: 100,
                host: format!("be{}.{}.example.net", b + 1, site.name),
                status: "online".into(),
                status_reason: String::new(),
                last_moved_from: String::new(),
                last_moved_to: String::new(),
            })
            .collect();
        for backend in &backends {
            geodb.put_backend(backend).await?;
        }
        for g in 0..size.groups_per_site {
            let owner = g % backends.len().max(1);
            let group = UserGroup {
                site_id: site.id,
                name: format!("default-{}", g + 1),
                backend_id: backends.get(owner).map(|b| b.id),
                alt_backend_id: backends.get((owner + 1) % backends.len().max(1)).map(|b| b.id),
                sticky_users: 0,
                moving: String::new(),
                refresh_after: None,
                sticky_backend: 0,
            };
            geodb.put_group(&group).await?;
        }
        sites.push(site);
    }
    if sites.is_empty() || size.groups_per_site == 0 {
        return Ok(sites);
    }
    let now = Utc::now();
    for u in 0..size.users {
        let home = &sites[u % sites.len()];
        let group = format!("default-{}", (u / sites.len()) % size.groups_per_site + 1);
        let user = User {
            username: format!("user{u:06}@example.net"),
            preferred_site_id: Some(home.id),
            failover_site_group_name: group.clone(),
            group_name: group,
            metacache_last_host: String::new(),
            moving_preferred_site_id: None,
            moving_group_name: String::new(),
            moving_failover_site_group_name: String::new(),
            last_update: Some(now),
        };
        geodb.put_user(&user).await?;
    }
    Ok(sites)
}
