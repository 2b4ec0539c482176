//! What the world holds per backend, proxy and sampled user, how it is loaded from the GeoDB,
//! and the views the servers and the control API read.

use std::collections::{BTreeMap, HashMap};

use domain::geodb::Backend;

use futures::TryStreamExt;
use palomar_core::ports::StoreError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    exposition::{self, NodeStats, ProxyCounters},
    read_all, routing, Faults, MoveProgress, Simulator,
};

/// The simulated resource levels of a backend (0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Resources {
    pub(super) cpu: f64,
    pub(super) memused: f64,
    pub(super) metacache: f64,
}

/// A backend's row as last read, and what only the simulator knows about it.
pub(super) struct BackendRuntime {
    pub(super) row: Backend,
    pub(super) site_name: String,
    pub(super) faults: Faults,
    pub(super) normal: Resources,
    pub(super) cpu_idle_seconds: f64,
    pub(super) cpu_busy_seconds: f64,
    /// Group moves this backend is the source of, by group name.
    pub(super) moves: BTreeMap<String, MoveProgress>,
}

impl BackendRuntime {
    pub(super) fn resources(&self) -> Resources {
        Resources {
            cpu: self.faults.cpu.unwrap_or(self.normal.cpu),
            memused: self.faults.memused.unwrap_or(self.normal.memused),
            metacache: self.faults.metacache.unwrap_or(self.normal.metacache),
        }
    }

    fn node_stats(&self) -> NodeStats {
        let r = self.resources();
        let memory_total = 64.0 * (1u64 << 30) as f64;
        let cache_size = 500.0 * (1u64 << 30) as f64;
        NodeStats {
            cpu_idle_seconds: self.cpu_idle_seconds,
            cpu_busy_seconds: self.cpu_busy_seconds,
            memory_total_bytes: memory_total,
            memory_available_bytes: memory_total * (1.0 - r.memused),
            metacache_size_bytes: cache_size,
            metacache_avail_bytes: cache_size * (1.0 - r.metacache),
        }
    }
}

/// A simulated proxy: its host name, site and counters.
#[derive(Debug, Clone)]
pub struct ProxyRuntime {
    pub site_id: Uuid,
    pub site_name: String,
    pub host: String,
    pub counters: ProxyCounters,
    pub(super) login_carry: f64,
    pub(super) delivery_carry: f64,
}

/// A sampled user to make traffic for.
#[derive(Debug, Clone)]
pub(super) struct SampleUser {
    pub(super) username: String,
    pub(super) preferred_site: Option<Uuid>,
}

/// A backend as the servers and the control API see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendInfo {
    pub id: Uuid,
    pub site: String,
    pub host: String,
    pub status: domain::geodb::BackendStatus,
    pub load_factor: i32,
    pub faults: Faults,
}

// The proxy counters traffic is counted in and the metric history sums up.
pub(super) const LOGIN_OK: &str = "proxy_session_success";
pub(super) const LOGIN_FAILED: &str = "proxy_session_failure";
pub(super) const DELIVERY_OK: &str = "lmtp_rcpt_finished_success";
pub(super) const DELIVERY_FAILED: &str = "lmtp_rcpt_finished_failure";

impl Simulator {
    /// Re-reads sites and backends (small tables) and keeps each backend's runtime state.
    pub async fn refresh_topology(&self) -> Result<(), StoreError> {
        let sites = read_all(|page| self.geodb.list_sites(page)).await?;
        let reachability = read_all(|page| self.geodb.list_reachability(page)).await?;
        let force_moves = palomar_core::services::read_force_moves(self.geodb.as_ref()).await?;
        let mut rows = Vec::new();
        for site in &sites {
            rows.extend(read_all(|page| self.geodb.list_backends(site.id, page)).await?);
        }
        let mut world = self.world();
        let world = &mut *world;
        let site_name = |id: Uuid| sites.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_default();
        let mut backends = BTreeMap::new();
        for row in rows {
            let runtime = match world.backends.remove(&row.id) {
                Some(mut existing) => {
                    existing.row = row;
                    existing
                }
                None => {
                    let spread = (routing::stable_hash(&row.host) % 100) as f64 / 100.0;
                    BackendRuntime {
                        site_name: site_name(row.site_id),
                        faults: Faults::default(),
                        normal: Resources {
                            cpu: 0.25 + 0.1 * spread,
                            memused: 0.45 + 0.1 * spread,
                            metacache: 0.35 + 0.1 * spread,
                        },
                        cpu_idle_seconds: 0.0,
                        cpu_busy_seconds: 0.0,
                        moves: BTreeMap::new(),
                        row,
                    }
                }
            };
            backends.insert(runtime.row.id, runtime);
        }
        world.backends = backends;
        for site in &sites {
            let have = world.proxies.iter().filter(|p| p.site_id == site.id).count();
            for n in have..self.settings.proxies_per_site {
                world.proxies.push(ProxyRuntime {
                    site_id: site.id,
                    site_name: site.name.clone(),
                    host: format!("proxy{}.{}.example.net", n + 1, site.name),
                    counters: ProxyCounters::default(),
                    login_carry: 0.0,
                    delivery_carry: 0.0,
                });
            }
        }
        world.proxies.retain(|p| sites.iter().any(|s| s.id == p.site_id));
        world.sites = sites;
        world.reachability = reachability;
        world.force_moves = force_moves;
        Ok(())
    }

    /// One pass over `users` (the census's scan): group sizes for move totals and a sample to
    /// make traffic for.
    pub async fn census(&self) -> Result<(), StoreError> {
        let mut sizes: HashMap<(Uuid, String), u64> = HashMap::new();
        let mut sample = Vec::new();
        let mut batches = self.geodb.scan_memberships();
        while let Some(batch) = batches.try_next().await? {
            for user in batch {
                if sample.len() < self.settings.sample_users {
                    sample.push(SampleUser { username: user.username, preferred_site: user.preferred_site_id });
                }
                if let Some(site) = user.preferred_site_id {
                    *sizes.entry((site, user.group_name)).or_default() += 1;
                }
            }
        }
        drop(batches);
        let mut world = self.world();
        world.group_sizes = sizes;
        world.users = sample;
        Ok(())
    }
    /// Every backend with its site and faults.
    pub fn backends(&self) -> Vec<BackendInfo> {
        self.world()
            .backends
            .values()
            .map(|b| BackendInfo {
                id: b.row.id,
                site: b.site_name.clone(),
                host: b.row.host.clone(),
                status: b.row.status.clone(),
                load_factor: b.row.load_factor,
                faults: b.faults.clone(),
            })
            .collect()
    }

    /// Every proxy (host and site).
    pub fn proxies(&self) -> Vec<(String, String)> {
        self.world().proxies.iter().map(|p| (p.site_name.clone(), p.host.clone())).collect()
    }

    /// A proxy's `/metrics` text.
    pub fn proxy_metrics(&self, host: &str) -> Option<String> {
        let world = self.world();
        let proxy = world.proxies.iter().find(|p| p.host == host)?;
        Some(exposition::render_proxy(&proxy.counters, world.started_at.timestamp()))
    }

    /// A backend's `/metrics` text (node_exporter style).
    pub fn backend_metrics(&self, host: &str) -> Option<String> {
        let world = self.world();
        world.backends.values().find(|b| b.row.host == host).map(|b| exposition::render_backend(&b.node_stats()))
    }
}
