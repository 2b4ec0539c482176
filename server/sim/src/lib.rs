//! The cluster simulator: Palomar proxies and backends on top of a real GeoDB (Cassandra or
//! the embedded store), speaking the real wire formats. Dovecot Pro cannot run here, so this is
//! the world the controller is built and tested against. See docs/simulator.md.
//!
//! * `routing` — how a proxy picks a backend (pure);
//! * `exposition` — the proxies' and backends' `/metrics` text;
//! * `doveadm_api` — each backend's doveadm HTTP API, how it reads requests and writes
//!   answers (`doveadm_request`) and the commands it runs (`doveadm_commands`);
//! * `servers` — the HTTP listeners, the control API and the tick loop;
//! * `settings` and `faults` — the knobs, global and per backend;
//! * `world` — backends, proxies and sampled users, loaded from the GeoDB;
//! * `traffic` — logins and deliveries, routed and counted on each tick;
//! * `moves` — group moves as source backends run them;
//! * `history` — the traffic and Z-score history the embedded metrics adapter reads.

pub mod doveadm_api;
mod doveadm_commands;
mod doveadm_request;
pub mod exposition;
pub use domain::routing;
pub mod servers;
mod stats_listener;

mod faults;
mod history;
mod moves;
mod settings;
mod traffic;
mod world;

pub use faults::{DoveadmMode, Faults};
pub use history::z_scores;
pub use moves::MoveProgress;
pub use settings::{FailureFilter, PasswordCheck, SimSettings};
pub use world::{BackendInfo, ProxyRuntime};

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard},
};

use domain::Site;

use chrono::{DateTime, Utc};
use palomar_core::ports::{Clock, GeoDb, StoreError};
use rand::{rngs::StdRng, SeedableRng};
use uuid::Uuid;

use history::History;
use world::{BackendRuntime, SampleUser};

/// Everything the simulator knows beyond the GeoDB, behind the one lock.
struct World {
    sites: Vec<Site>,
    /// `site_reachability` as read with the sites: the proxies' view of the other sites.
    reachability: Vec<domain::geodb::Reachability>,
    /// The running force-moves and recovers, as read with the sites: logins follow them.
    force_moves: Vec<domain::force_move::ForceMove>,
    /// Links between sites that are cut (from, to): sessions sent that way fail.
    cut_links: std::collections::BTreeSet<(Uuid, Uuid)>,
    backends: BTreeMap<Uuid, BackendRuntime>,
    proxies: Vec<ProxyRuntime>,
    users: Vec<SampleUser>,
    group_sizes: HashMap<(Uuid, String), u64>,
    rng: StdRng,
    history: History,
    started_at: DateTime<Utc>,
}

/// The simulator. Cheap to share: everything is behind one lock, never held across an await.
pub struct Simulator {
    geodb: Arc<dyn GeoDb>,
    clock: Arc<dyn Clock>,
    settings: SimSettings,
    world: Mutex<World>,
}

impl Simulator {
    /// Loads the cluster from the GeoDB: sites, backends, a sample of users and every group's
    /// size (one paged pass over `users`).
    pub async fn load(
        geodb: Arc<dyn GeoDb>,
        clock: Arc<dyn Clock>,
        settings: SimSettings,
        seed: u64,
    ) -> Result<Arc<Self>, StoreError> {
        let now = clock.now();
        let world = World {
            sites: Vec::new(),
            reachability: Vec::new(),
            force_moves: Vec::new(),
            cut_links: Default::default(),
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

    /// The settings it was loaded with.
    pub fn settings(&self) -> &SimSettings {
        &self.settings
    }

    /// The GeoDB it reads and writes.
    pub fn geodb(&self) -> &Arc<dyn GeoDb> {
        &self.geodb
    }
}

pub(crate) use palomar_core::ports::read_all;
