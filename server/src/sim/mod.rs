//! The cluster simulator: Palomar proxies and backends on top of a real GeoDB (Cassandra or
//! the embedded store), speaking the real wire formats. Dovecot Pro cannot run here, so this is
//! the world the controller is built and tested against. See docs/simulator.md.
//!
//! * `routing` — how a proxy picks a backend (pure);
//! * `exposition` — the proxies' and backends' `/metrics` text;
//! * `doveadm_api` — each backend's doveadm HTTP API;
//! * `servers` — the HTTP listeners, the control API and the tick loop.

pub mod doveadm_api;
pub mod exposition;
pub use app::domain::routing;
pub mod servers;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use app::{
    domain::{
        geodb::{Backend, UserGroup},
        metrics::HostTraffic,
        PageRequest, Site,
    },
    ports::{Clock, GeoDb, StoreError},
};
use chrono::{DateTime, Utc};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use exposition::{NodeStats, ProxyCounters};
use routing::{route, Route, RouteReason};

/// How much traffic the simulator makes and how fast moves go.
#[derive(Debug, Clone)]
pub struct SimSettings {
    pub proxies_per_site: usize,
    /// Logins each proxy sees per second.
    pub logins_per_second: f64,
    /// LMTP deliveries each proxy makes per second.
    pub deliveries_per_second: f64,
    /// Share of a proxy's logins for users whose preferred site is another one.
    pub cross_site_percent: f64,
    /// Redirects and temporary auth failures: not failures by the seed's metric filters.
    pub harmless_login_error_percent: f64,
    /// Permanent (5.x.x) LMTP rejections: not host failures by the seed's filter.
    pub permanent_reject_percent: f64,
    /// Users a source backend moves per second in one group move.
    pub user_move_rate: f64,
    /// `cluster_default_group_count` of the proxies.
    pub default_group_count: u32,
    /// At most this many usernames are kept to make traffic from.
    pub sample_users: usize,
    /// How often a Z-score sample is recorded for the embedded metrics.
    pub score_interval: Duration,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            proxies_per_site: 2,
            logins_per_second: 10.0,
            deliveries_per_second: 5.0,
            cross_site_percent: 5.0,
            harmless_login_error_percent: 1.0,
            permanent_reject_percent: 1.0,
            user_move_rate: 50.0,
            default_group_count: 100,
            sample_users: 50_000,
            score_interval: Duration::from_secs(15),
        }
    }
}

/// What the doveadm HTTP API of a backend does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoveadmMode {
    #[default]
    Ok,
    /// The listener is closed: connections are refused.
    Unreachable,
    /// Every command fails with exit code 75 (EX_TEMPFAIL).
    Error,
}

/// Faults injected into one backend. `Default` is a healthy backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Percentage of logins that fail at this backend (0–100).
    pub login_fail_percent: f64,
    /// Percentage of deliveries that fail temporarily (4.x.x) at this backend.
    pub delivery_fail_percent: f64,
    /// Resource levels (0–1) that replace the backend's normal ones: a hot backend.
    pub cpu: Option<f64>,
    pub memused: Option<f64>,
    pub metacache: Option<f64>,
    pub doveadm: DoveadmMode,
    /// The backend never starts a group move it is the source of.
    pub stall_moves: bool,
    /// Multiplies the user move rate (e.g. 0.1 for a slow backend). 0 means 1.
    pub move_rate_factor: f64,
}

impl Faults {
    /// A hot backend: CPU, memory and metacache near full.
    pub fn hot() -> Self {
        Self { cpu: Some(0.95), memused: Some(0.95), metacache: Some(0.95), ..Self::default() }
    }

    /// Checks the values an operator gave.
    pub fn validate(&self) -> Result<(), String> {
        let percent = |name: &str, v: f64| {
            if (0.0..=100.0).contains(&v) { Ok(()) } else { Err(format!("{name} must be between 0 and 100, got {v}")) }
        };
        percent("login_fail_percent", self.login_fail_percent)?;
        percent("delivery_fail_percent", self.delivery_fail_percent)?;
        for (name, level) in [("cpu", self.cpu), ("memused", self.memused), ("metacache", self.metacache)] {
            if let Some(v) = level {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!("{name} must be between 0 and 1, got {v}"));
                }
            }
        }
        if !(self.move_rate_factor >= 0.0 && self.move_rate_factor.is_finite()) {
            return Err("move_rate_factor must be 0 or more".into());
        }
        Ok(())
    }
}

/// A group move as its source backend tracks it in its local state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveProgress {
    pub site_id: Uuid,
    pub group: String,
    pub source_host: String,
    pub destination_id: Uuid,
    pub users_total: u64,
    pub users_moved: u64,
    pub started_at: DateTime<Utc>,
    #[serde(skip)]
    moved_exact: f64,
}

/// The simulated resource levels of a backend (0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Resources {
    cpu: f64,
    memused: f64,
    metacache: f64,
}

struct BackendRuntime {
    row: Backend,
    site_name: String,
    faults: Faults,
    normal: Resources,
    cpu_idle_seconds: f64,
    cpu_busy_seconds: f64,
    /// Group moves this backend is the source of, by group name.
    moves: BTreeMap<String, MoveProgress>,
}

impl BackendRuntime {
    fn resources(&self) -> Resources {
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
    login_carry: f64,
    delivery_carry: f64,
}

/// A sampled user to make traffic for.
#[derive(Debug, Clone)]
struct SampleUser {
    username: String,
    preferred_site: Option<Uuid>,
}

/// What the embedded metrics adapter reads: cumulative traffic per `dest_host` over time, and
/// Z-score samples per (site, host, resource).
#[derive(Default)]
struct History {
    traffic: VecDeque<(DateTime<Utc>, BTreeMap<String, HostTraffic>)>,
    scores: BTreeMap<(String, String, &'static str), VecDeque<(DateTime<Utc>, f64)>>,
    last_score_at: Option<DateTime<Utc>>,
}

struct World {
    sites: Vec<Site>,
    backends: BTreeMap<Uuid, BackendRuntime>,
    proxies: Vec<ProxyRuntime>,
    users: Vec<SampleUser>,
    group_sizes: HashMap<(Uuid, String), u64>,
    rng: StdRng,
    history: History,
    started_at: DateTime<Utc>,
}

/// A backend as the servers and the control API see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendInfo {
    pub id: Uuid,
    pub site: String,
    pub host: String,
    pub status: String,
    pub load_factor: i32,
    pub faults: Faults,
}

/// The simulator. Cheap to share: everything is behind one lock, never held across an await.
pub struct Simulator {
    geodb: Arc<dyn GeoDb>,
    clock: Arc<dyn Clock>,
    settings: SimSettings,
    world: Mutex<World>,
}

/// One routed event's outcome, applied to the counters after the GeoDB reads.
enum Outcome {
    Counted { metric: &'static str, host: String, seconds: f64 },
    NotCounted,
}

const LOGIN_OK: &str = "proxy_session_success";
const LOGIN_FAILED: &str = "proxy_session_failure";
const DELIVERY_OK: &str = "lmtp_rcpt_finished_success";
const DELIVERY_FAILED: &str = "lmtp_rcpt_finished_failure";

impl Simulator {
    /// Loads the cluster from the GeoDB: sites, backends, a sample of users and every group's
    /// size (one paged pass over `users`).
    pub async fn load(geodb: Arc<dyn GeoDb>, clock: Arc<dyn Clock>, settings: SimSettings, seed: u64) -> Result<Arc<Self>, StoreError> {
        let now = clock.now();
        let world = World {
            sites: Vec::new(),
            backends: BTreeMap::new(),
            proxies: Vec::new(),
            users: Vec::new(),
            group_sizes: HashMap::new(),
            rng: StdRng::seed_from_u64(seed),
            history: History::default(),
            started_at: now,
        };
        let sim = Arc::new(Self { geodb, clock, settings, world: Mutex::new(world) });
        sim.refresh_topology().await?;
        sim.census().await?;
        Ok(sim)
    }

    fn world(&self) -> MutexGuard<'_, World> {
        // The lock is never held across a panic point that leaves the world half-written.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> &SimSettings {
        &self.settings
    }

    pub fn geodb(&self) -> &Arc<dyn GeoDb> {
        &self.geodb
    }

    /// Re-reads sites and backends (small tables) and keeps each backend's runtime state.
    pub async fn refresh_topology(&self) -> Result<(), StoreError> {
        let sites = read_all(|page| self.geodb.list_sites(page)).await?;
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
                        normal: Resources { cpu: 0.25 + 0.1 * spread, memused: 0.45 + 0.1 * spread, metacache: 0.35 + 0.1 * spread },
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
        Ok(())
    }

    /// One paged pass over `users`: group sizes for move totals and a sample to make traffic for.
    pub async fn census(&self) -> Result<(), StoreError> {
        let mut sizes: HashMap<(Uuid, String), u64> = HashMap::new();
        let mut sample = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.geodb.list_users(PageRequest::after(cursor, 500)).await?;
            for user in page.items {
                if let Some(site) = user.preferred_site_id {
                    *sizes.entry((site, user.group_name.clone())).or_default() += 1;
                }
                if sample.len() < self.settings.sample_users {
                    sample.push(SampleUser { username: user.username, preferred_site: user.preferred_site_id });
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut world = self.world();
        world.group_sizes = sizes;
        world.users = sample;
        Ok(())
    }

    /// Advances the world by `dt`: traffic, moves, resource counters, metric history.
    pub async fn tick(&self, dt: Duration) -> Result<(), StoreError> {
        let dt_s = dt.as_secs_f64();
        self.refresh_topology().await?;
        // Decide how many events each proxy makes, and for whom, under the lock; route them
        // (GeoDB reads) without it.
        let mut plan: Vec<(usize, bool, SampleUser, f64)> = Vec::new();
        {
            let mut world = self.world();
            let world = &mut *world;
            if world.users.is_empty() {
                return Ok(());
            }
            for (index, proxy) in world.proxies.iter_mut().enumerate() {
                proxy.login_carry += self.settings.logins_per_second * dt_s;
                proxy.delivery_carry += self.settings.deliveries_per_second * dt_s;
                let logins = proxy.login_carry.floor();
                let deliveries = proxy.delivery_carry.floor();
                proxy.login_carry -= logins;
                proxy.delivery_carry -= deliveries;
                for (count, is_login) in [(logins as usize, true), (deliveries as usize, false)] {
                    for _ in 0..count {
                        let pick = pick_user(&mut world.rng, &world.users, proxy.site_id, self.settings.cross_site_percent);
                        let roll = world.rng.gen::<f64>() * 100.0;
                        plan.push((index, is_login, pick, roll));
                    }
                }
            }
        }
        let mut groups: HashMap<(Uuid, String), Option<UserGroup>> = HashMap::new();
        let mut outcomes = Vec::with_capacity(plan.len());
        for (proxy_index, is_login, user, roll) in plan {
            let outcomes_for = self.route_event(proxy_index, is_login, &user, roll, &mut groups).await?;
            outcomes.push((proxy_index, outcomes_for));
        }
        {
            let mut world = self.world();
            for (proxy_index, events) in outcomes {
                if let Some(proxy) = world.proxies.get_mut(proxy_index) {
                    for event in events {
                        if let Outcome::Counted { metric, host, seconds } = event {
                            proxy.counters.record(metric, &host, seconds);
                        }
                    }
                }
            }
            for backend in world.backends.values_mut() {
                let cpu = backend.resources().cpu;
                backend.cpu_idle_seconds += dt_s * (1.0 - cpu);
                backend.cpu_busy_seconds += dt_s * cpu;
            }
        }
        self.advance_moves(dt_s).await?;
        self.record_history();
        Ok(())
    }

    /// Routes one login or delivery and says what the proxy counts.
    async fn route_event(
        &self,
        proxy_index: usize,
        is_login: bool,
        user: &SampleUser,
        roll: f64,
        groups: &mut HashMap<(Uuid, String), Option<UserGroup>>,
    ) -> Result<Vec<Outcome>, StoreError> {
        let (proxy_site, sites) = {
            let world = self.world();
            let Some(proxy) = world.proxies.get(proxy_index) else { return Ok(vec![]) };
            (proxy.site_id, world.sites.clone())
        };
        let (ok, failed) = if is_login { (LOGIN_OK, LOGIN_FAILED) } else { (DELIVERY_OK, DELIVERY_FAILED) };
        let row = self.geodb.get_user(&user.username).await?;
        let (site_id, group_name) = match &row {
            Some(u) => (u.preferred_site_id.unwrap_or(proxy_site), u.group_name.clone()),
            None => (proxy_site, routing::default_group(&user.username, self.settings.default_group_count)),
        };
        if site_id != proxy_site {
            // Another site's user: proxied to that site's load balancer.
            let Some(site) = sites.iter().find(|s| s.id == site_id) else { return Ok(vec![]) };
            let host = if site.load_balancer.is_empty() { site.name.clone() } else { site.load_balancer.clone() };
            let up = site.status.as_str() == "online";
            return Ok(vec![if up {
                Outcome::Counted { metric: ok, host, seconds: 0.05 }
            } else {
                Outcome::Counted { metric: failed, host, seconds: 3.0 }
            }]);
        }
        let key = (site_id, group_name.clone());
        if !groups.contains_key(&key) {
            let group = match self.geodb.get_group(site_id, &group_name).await? {
                Some(group) => Some(group),
                None => self.create_group(site_id, &group_name).await?,
            };
            groups.insert(key.clone(), group);
        }
        let Some(group) = groups.get(&key).cloned().flatten() else { return Ok(vec![]) };
        let (backends, progress) = {
            let world = self.world();
            let backends: Vec<Backend> = world.backends.values().filter(|b| b.row.site_id == site_id).map(|b| b.row.clone()).collect();
            let progress = group
                .backend_id
                .and_then(|id| world.backends.get(&id))
                .and_then(|b| b.moves.get(&group.name))
                .map(|m| (m.users_moved, m.users_total));
            (backends, progress)
        };
        let already_moved = progress.is_some_and(|(moved, total)| routing::user_moved(&user.username, moved, total));
        let route = route(&group, &backends, already_moved);
        let host_of = |id: Uuid| backends.iter().find(|b| b.id == id).map(|b| b.host.clone()).unwrap_or_default();
        match route {
            Route::Unavailable => Ok(vec![]),
            Route::Referred { to, .. } => Ok(vec![self.serve(to, &host_of(to), is_login, roll, ok, failed)]),
            Route::Backend { id, reason } => {
                match reason {
                    RouteReason::MovingSource if progress.is_none() => {
                        self.start_move(id, &group);
                    }
                    RouteReason::MoveFinishedBySourceDown => {
                        self.finish_move(&group, &backends).await?;
                        groups.remove(&key);
                    }
                    _ => {}
                }
                Ok(vec![self.serve(id, &host_of(id), is_login, roll, ok, failed)])
            }
        }
    }

    /// What happens at the backend: the injected failure rate, or a harmless error, or success.
    fn serve(&self, backend: Uuid, host: &str, is_login: bool, roll: f64, ok: &'static str, failed: &'static str) -> Outcome {
        let faults = self.world().backends.get(&backend).map(|b| b.faults.clone()).unwrap_or_default();
        let fail_percent = if is_login { faults.login_fail_percent } else { faults.delivery_fail_percent };
        let harmless = if is_login { self.settings.harmless_login_error_percent } else { self.settings.permanent_reject_percent };
        if roll < fail_percent {
            Outcome::Counted { metric: failed, host: host.to_string(), seconds: 3.0 }
        } else if roll < fail_percent + harmless * (1.0 - fail_percent / 100.0) {
            // proxy_dest_redirected / proxy_dest_auth_temp_failed, or a 5.x.x rejection.
            Outcome::NotCounted
        } else {
            Outcome::Counted { metric: ok, host: host.to_string(), seconds: 0.05 }
        }
    }

    /// Creates a group on first use, as proxies do: on an online backend picked by the name.
    async fn create_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError> {
        let online: Vec<Uuid> = {
            let world = self.world();
            world.backends.values().filter(|b| b.row.site_id == site_id && routing::accepts_sessions(&b.row)).map(|b| b.row.id).collect()
        };
        if online.is_empty() {
            return Ok(None);
        }
        let index = (routing::stable_hash(name) % online.len() as u64) as usize;
        let group = UserGroup {
            site_id,
            name: name.to_string(),
            backend_id: online.get(index).copied(),
            alt_backend_id: online.get((index + 1) % online.len()).copied(),
            sticky_users: 0,
            moving: String::new(),
            refresh_after: None,
            sticky_backend: 0,
        };
        self.geodb.put_group(&group).await?;
        Ok(Some(group))
    }

    /// The source backend starts moving a group's users (unless it is stalled).
    fn start_move(&self, source: Uuid, group: &UserGroup) -> bool {
        let Some(destination_id) = group.alt_backend_id else { return false };
        let now = self.clock.now();
        let mut world = self.world();
        let total = world.group_sizes.get(&(group.site_id, group.name.clone())).copied().unwrap_or(0);
        let Some(backend) = world.backends.get_mut(&source) else { return false };
        if backend.faults.stall_moves || backend.moves.contains_key(&group.name) {
            return false;
        }
        tracing::debug!(group = %group.name, source = %backend.row.host, users = total, "group move started");
        backend.moves.insert(
            group.name.clone(),
            MoveProgress {
                site_id: group.site_id,
                group: group.name.clone(),
                source_host: backend.row.host.clone(),
                destination_id,
                users_total: total,
                users_moved: 0,
                started_at: now,
                moved_exact: 0.0,
            },
        );
        true
    }

    /// Ends a move: the destination becomes the backend, a new alternative is picked, and
    /// `moving` is cleared. Users counted as moved change their group's size nowhere: groups move whole.
    async fn finish_move(&self, group: &UserGroup, backends: &[Backend]) -> Result<(), StoreError> {
        let Some(destination) = group.alt_backend_id else { return Ok(()) };
        let candidates: Vec<&Backend> = backends.iter().filter(|b| b.id != destination && routing::accepts_sessions(b)).collect();
        let alt = if candidates.is_empty() {
            group.backend_id
        } else {
            Some(candidates[(routing::stable_hash(&group.name) % candidates.len() as u64) as usize].id)
        };
        let finished = UserGroup {
            backend_id: Some(destination),
            alt_backend_id: alt,
            moving: String::new(),
            refresh_after: Some(self.clock.now()),
            ..group.clone()
        };
        self.geodb.put_group(&finished).await?;
        let mut world = self.world();
        for backend in world.backends.values_mut() {
            backend.moves.remove(&group.name);
        }
        tracing::debug!(group = %group.name, "group move finished");
        Ok(())
    }

    /// Moves users of every active move at the configured rate; finishes the complete ones.
    async fn advance_moves(&self, dt_s: f64) -> Result<(), StoreError> {
        let mut done = Vec::new();
        {
            let mut world = self.world();
            for backend in world.backends.values_mut() {
                let factor = if backend.faults.move_rate_factor > 0.0 { backend.faults.move_rate_factor } else { 1.0 };
                for progress in backend.moves.values_mut() {
                    progress.moved_exact += self.settings.user_move_rate * factor * dt_s;
                    progress.users_moved = (progress.moved_exact as u64).min(progress.users_total);
                    if progress.users_moved >= progress.users_total {
                        done.push((progress.site_id, progress.group.clone()));
                    }
                }
            }
        }
        for (site_id, name) in done {
            if let Some(group) = self.geodb.get_group(site_id, &name).await? {
                let backends: Vec<Backend> = self.world().backends.values().filter(|b| b.row.site_id == site_id).map(|b| b.row.clone()).collect();
                self.finish_move(&group, &backends).await?;
            }
        }
        Ok(())
    }

    /// What `clusterGroupAccess` does on backend `host`: a group lookup that kicks off a pending
    /// move (this backend is its source) or finishes one (the source is down).
    pub async fn group_access(&self, host: &str, group_name: &str) -> Result<Option<String>, StoreError> {
        let Some((site_id, backend_id)) = self.backend_by_host(host).map(|b| (b.row.site_id, b.row.id)) else { return Ok(None) };
        let Some(group) = self.geodb.get_group(site_id, group_name).await? else { return Ok(None) };
        let backends: Vec<Backend> = self.world().backends.values().filter(|b| b.row.site_id == site_id).map(|b| b.row.clone()).collect();
        match route(&group, &backends, false) {
            Route::Backend { id, reason: RouteReason::MovingSource } => {
                if id == backend_id || group.backend_id == Some(backend_id) {
                    self.start_move(id, &group);
                }
                Ok(backends.iter().find(|b| b.id == id).map(|b| b.host.clone()))
            }
            Route::Backend { id, reason: RouteReason::MoveFinishedBySourceDown } => {
                self.finish_move(&group, &backends).await?;
                Ok(backends.iter().find(|b| b.id == id).map(|b| b.host.clone()))
            }
            Route::Backend { id, .. } | Route::Referred { to: id, .. } => Ok(backends.iter().find(|b| b.id == id).map(|b| b.host.clone())),
            Route::Unavailable => Ok(None),
        }
    }

    fn backend_by_host(&self, host: &str) -> Option<BackendInfoInternal> {
        self.world().backends.values().find(|b| b.row.host == host).map(|b| BackendInfoInternal { row: b.row.clone() })
    }

    /// The move a backend is running for a group, if any.
    pub fn move_progress(&self, group: &str) -> Option<MoveProgress> {
        self.world().backends.values().find_map(|b| b.moves.get(group).cloned())
    }

    /// Every active move.
    pub fn moves(&self) -> Vec<MoveProgress> {
        self.world().backends.values().flat_map(|b| b.moves.values().cloned()).collect()
    }

    /// Replaces a backend's faults. Unknown host: `Err`.
    pub fn set_faults(&self, host: &str, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        let mut world = self.world();
        let backend = world.backends.values_mut().find(|b| b.row.host == host).ok_or_else(|| format!("no backend {host}"))?;
        tracing::info!(host, ?faults, "faults set");
        backend.faults = faults;
        Ok(())
    }

    pub fn faults(&self, host: &str) -> Option<Faults> {
        self.world().backends.values().find(|b| b.row.host == host).map(|b| b.faults.clone())
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

    /// Traffic per `dest_host` summed over all proxies, cumulative since start.
    fn traffic_totals(world: &World) -> BTreeMap<String, HostTraffic> {
        let mut totals: BTreeMap<String, HostTraffic> = BTreeMap::new();
        for proxy in &world.proxies {
            for (metric, series) in &proxy.counters.metrics {
                for (host, count) in series {
                    let t = totals.entry(host.clone()).or_default();
                    let n = count.count as f64;
                    match *metric {
                        LOGIN_OK => t.logins_ok += n,
                        LOGIN_FAILED => t.logins_failed += n,
                        DELIVERY_OK => t.deliveries_ok += n,
                        DELIVERY_FAILED => t.deliveries_failed += n,
                        _ => {}
                    }
                }
            }
        }
        totals
    }

    fn record_history(&self) {
        let now = self.clock.now();
        let interval = chrono::Duration::from_std(self.settings.score_interval).unwrap_or_else(|_| chrono::Duration::seconds(15));
        let mut world = self.world();
        let totals = Self::traffic_totals(&world);
        let history_window = chrono::Duration::minutes(15);
        world.history.traffic.push_back((now, totals));
        while world.history.traffic.front().is_some_and(|(t, _)| now - *t > history_window) {
            world.history.traffic.pop_front();
        }
        if world.history.last_score_at.is_some_and(|t| now - t < interval) {
            return;
        }
        world.history.last_score_at = Some(now);
        let mut by_site: BTreeMap<String, Vec<(String, Resources)>> = BTreeMap::new();
        for b in world.backends.values() {
            by_site.entry(b.site_name.clone()).or_default().push((b.row.host.clone(), b.resources()));
        }
        let day = chrono::Duration::hours(24);
        for (site, hosts) in by_site {
            for resource in app::domain::metrics::SCORED_RESOURCES {
                let values: Vec<f64> = hosts.iter().map(|(_, r)| resource_value(r, resource)).collect();
                for ((host, _), z) in hosts.iter().zip(z_scores(&values)) {
                    let Some(z) = z else { continue };
                    let series = world.history.scores.entry((site.clone(), host.clone(), resource)).or_default();
                    series.push_back((now, z));
                    while series.front().is_some_and(|(t, _)| now - *t > day) {
                        series.pop_front();
                    }
                }
            }
        }
    }

    /// Traffic per `dest_host` over the last `window`, from the recorded history.
    pub fn traffic_over(&self, window: Duration) -> BTreeMap<String, HostTraffic> {
        let world = self.world();
        let Some((now, latest)) = world.history.traffic.back() else { return BTreeMap::new() };
        let since = *now - chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::minutes(5));
        let base = world.history.traffic.iter().find(|(t, _)| *t >= since).map(|(_, totals)| totals);
        let started_in_window = world.history.traffic.front().is_some_and(|(t, _)| *t >= since);
        latest
            .iter()
            .map(|(host, now_counts)| {
                // A window reaching back before the first record counts everything since start.
                let before = if started_in_window { None } else { base.and_then(|b| b.get(host)) };
                let before = before.copied().unwrap_or_default();
                (
                    host.clone(),
                    HostTraffic {
                        logins_ok: now_counts.logins_ok - before.logins_ok,
                        logins_failed: now_counts.logins_failed - before.logins_failed,
                        deliveries_ok: now_counts.deliveries_ok - before.deliveries_ok,
                        deliveries_failed: now_counts.deliveries_failed - before.deliveries_failed,
                    },
                )
            })
            .collect()
    }

    /// Z-score samples of one site: per (host, resource), the average over `window` and the count over 24 h.
    pub fn scores(&self, site: &str, window: Duration) -> Vec<(String, &'static str, f64, u64)> {
        let world = self.world();
        let now = self.clock.now();
        let since = now - chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::hours(1));
        world
            .history
            .scores
            .iter()
            .filter(|((s, _, _), _)| s == site)
            .filter_map(|((_, host, resource), samples)| {
                let recent: Vec<f64> = samples.iter().filter(|(t, _)| *t >= since).map(|(_, z)| *z).collect();
                (!recent.is_empty()).then(|| (host.clone(), *resource, recent.iter().sum::<f64>() / recent.len() as f64, samples.len() as u64))
            })
            .collect()
    }
}

struct BackendInfoInternal {
    row: Backend,
}

fn resource_value(r: &Resources, resource: &str) -> f64 {
    match resource {
        "cpu" => r.cpu,
        "memused" => r.memused,
        _ => r.metacache,
    }
}

/// Z-scores as the recording rules compute them: population standard deviation; none when it is 0.
pub fn z_scores(values: &[f64]) -> Vec<Option<f64>> {
    if values.is_empty() {
        return Vec::new();
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    values.iter().map(|v| (sd > 1e-12).then(|| (v - mean) / sd)).collect()
}

/// Mostly a user of the proxy's own site; `cross_site_percent` of the time anyone.
fn pick_user(rng: &mut StdRng, users: &[SampleUser], site: Uuid, cross_site_percent: f64) -> SampleUser {
    let anyone = rng.gen::<f64>() * 100.0 < cross_site_percent;
    for _ in 0..20 {
        let user = &users[rng.gen_range(0..users.len())];
        if anyone || user.preferred_site.is_none_or(|s| s == site) {
            return user.clone();
        }
    }
    users[rng.gen_range(0..users.len())].clone()
}

pub(crate) use app::ports::read_all;
