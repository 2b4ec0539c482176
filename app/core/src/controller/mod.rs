//! The cluster controller of one site: loops that read the GeoDB, the metrics and the
//! backends' doveadm API, ask the pure planners in [`domain::planning`] what to do,
//! and apply (or, when dry, only record) the decisions.
//!
//! Only the instance holding the site's leader lease runs the loops. Every write checks the
//! lease's fencing token first, and every GeoDB write is conditional (a Cassandra lightweight
//! transaction), so a deposed leader's writes are refused. Without fresh data (metrics,
//! GeoDB, Redis) a loop does nothing and says why.
//!
//! Where each part lives: [`snapshot`] reads the site, the planners decide, [`apply`] records
//! and applies a decision, [`moves`] is the one way a group move starts or ends.

mod apply;
pub mod census;
pub mod feed;
mod force_moves;
mod group_balance;
mod group_tally;
pub mod handoff;
mod lease;
pub mod moves;
mod pass;
mod reachability;
pub mod site_health;
mod snapshot;
mod status;
mod supervision;
pub mod telemetry;

use domain::logtext::Untrusted;
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};

use domain::{
    loops::{LoopKind, LoopResult, LoopRun, RunKey},
    planning::{
        group_balance::GroupBalanceSettings, group_move_timeouts::SupervisionSettings,
        host_failure::HostFailureSettings, load_balance::LoadBalanceSettings, RepeatMemory,
    },
    probe::ProbeState,
};

use crate::ports::{Lease, Ports, RecordStore};

pub use census::{Census, CensusReport, CensusSnapshot};
pub use feed::MoveFeed;
pub(crate) use force_moves::end_force_moves;
pub use handoff::{DovecotSettings, Handoff};
pub use moves::{GroupMoves, MoveRequest};
pub use telemetry::Telemetry;

/// How often each loop runs. Tests scale these down; production uses the defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intervals {
    pub reachability: Duration,
    /// Host failure, drain and load balancing share one pass over a fresh snapshot.
    pub pass: Duration,
    pub supervision: Duration,
    pub group_balance_pass: Duration,
    pub lease_ttl: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            reachability: Duration::from_secs(10),
            pass: Duration::from_secs(60),
            supervision: Duration::from_secs(10),
            group_balance_pass: Duration::from_secs(1800),
            lease_ttl: Duration::from_secs(30),
        }
    }
}

/// The controller's settings, from the seed's settings.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    /// `CLUSTER_SITE`: the site this controller keeps.
    pub site: String,
    /// This instance's name in the lease.
    pub instance: String,
    pub dry_run: bool,
    pub group_balance_enabled: bool,
    pub host_failure: HostFailureSettings,
    pub load_balance: LoadBalanceSettings,
    pub supervision: SupervisionSettings,
    pub group_balance: GroupBalanceSettings,
    pub group_balance_max_user_moves_per_pass: u32,
    pub dns_failure_allowed: Duration,
    pub score_window: Duration,
    pub intervals: Intervals,
    /// Which Dovecot runs the cluster, and its proxies.
    pub dovecot: DovecotSettings,
}

/// What the loops remember between runs (in memory; a new leader starts afresh).
#[derive(Default)]
struct Runtime {
    lease: Option<Lease>,
    lease_problem: Option<String>,
    next_due: HashMap<LoopKind, DateTime<Utc>>,
    runs: BTreeMap<RunKey, LoopRun>,
    probes: BTreeMap<String, ProbeState>,
    probed: bool,
    /// The last recorded decision per feature and subject, to record repeats at most every 10 minutes.
    repeats: RepeatMemory,
    last_load_balance_move: Option<DateTime<Utc>>,
    last_load_balance_loaded: bool,
    last_plan_day: Option<chrono::NaiveDate>,
    /// When this instance last changed its site's reachability of each other site.
    site_reachability_changed: BTreeMap<uuid::Uuid, DateTime<Utc>>,
}

/// One site's controller.
pub struct Controller {
    ports: Ports,
    settings: ControllerSettings,
    runtime: Mutex<Runtime>,
    telemetry: Arc<Telemetry>,
    census: Arc<Census>,
    moves: Arc<GroupMoves>,
}

/// Why a loop did not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("this instance does not lead the site")]
    NotLeader,
    #[error("{0}")]
    MissingData(String),
    #[error("feature off")]
    Off,
}

impl Skip {
    /// The error variant as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Skip::NotLeader => "not_leader",
            Skip::MissingData(_) => "missing_data",
            Skip::Off => "off",
        }
    }
}

impl Controller {
    /// The controller of `settings.site` on these ports, sharing `census` with the pages. It
    /// does nothing until [`spawn`]ed (or ticked by a test); the UI reads it either way.
    pub fn new(ports: Ports, census: Arc<Census>, settings: ControllerSettings) -> Arc<Self> {
        let telemetry = Arc::new(Telemetry::default());
        let handoff = Handoff::new(ports.geodb.clone(), ports.doveadm.clone(), settings.dovecot.clone());
        let moves = Arc::new(GroupMoves::new(
            ports.geodb.clone(),
            ports.records.clone(),
            ports.doveadm.clone(),
            ports.clock.clone(),
            census.clone(),
            telemetry.clone(),
            handoff,
        ));
        Arc::new(Self { ports, settings, runtime: Mutex::new(Runtime::default()), telemetry, census, moves })
    }

    pub fn settings(&self) -> &ControllerSettings {
        &self.settings
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Where decisions and moves are kept.
    pub fn records(&self) -> &Arc<dyn RecordStore> {
        &self.ports.records
    }

    /// The latest user census, shared with the UI.
    pub fn census(&self) -> &Arc<Census> {
        &self.census
    }

    /// The one way group moves start and end.
    pub fn moves(&self) -> &Arc<GroupMoves> {
        &self.moves
    }

    fn rt<R>(&self, f: impl FnOnce(&mut Runtime) -> R) -> R {
        let mut rt = self.runtime.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rt)
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// Runs every loop that is due, the lease first. Tests tick by hand; [`spawn`] instead
    /// runs the lease apart from the other loops.
    pub async fn tick(&self) {
        self.tick_loops(&LoopKind::ALL).await;
    }

    /// Runs those of `kinds` that are due, one after another.
    async fn tick_loops(&self, kinds: &[LoopKind]) {
        let now = self.now();
        for &kind in kinds {
            let due = self.rt(|rt| rt.next_due.get(&kind).is_none_or(|t| *t <= now));
            if due {
                self.run(kind).await;
                let interval = chrono::Duration::from_std(self.interval(kind)).unwrap_or(chrono::Duration::MAX);
                self.rt(|rt| rt.next_due.insert(kind, now + interval));
            }
        }
    }

    fn interval(&self, kind: LoopKind) -> Duration {
        let i = &self.settings.intervals;
        match kind {
            LoopKind::Leader => i.lease_ttl / 3,
            LoopKind::Reachability => i.reachability,
            LoopKind::Pass => i.pass,
            LoopKind::Supervision => i.supervision,
            LoopKind::GroupBalancePass => i.group_balance_pass,
            // Checked every minute; it plans once per UTC day (see `plan_group_balance`).
            LoopKind::GroupBalancePlan => Duration::from_secs(60),
        }
    }

    /// Runs one loop now and records how it went.
    pub async fn run(&self, kind: LoopKind) {
        let started = std::time::Instant::now();
        let at = self.now();
        let outcome = match kind {
            LoopKind::Leader => self.renew_lease().await,
            LoopKind::Reachability => self.probe_backends().await,
            LoopKind::Pass => self.pass().await,
            LoopKind::Supervision => self.supervise_moves().await,
            LoopKind::GroupBalancePlan => self.plan_group_balance().await,
            LoopKind::GroupBalancePass => self.group_balance_pass().await,
        };
        let seconds = started.elapsed().as_secs_f64();
        let (result, detail) = match &outcome {
            Ok(detail) => (LoopResult::Ran, detail.clone()),
            Err(Skip::Off) => (LoopResult::Skipped, "feature off".to_string()),
            Err(Skip::NotLeader) => (LoopResult::Skipped, self.not_leader_detail()),
            Err(Skip::MissingData(why)) => (LoopResult::Failed, why.clone()),
        };
        if let Err(skip) = &outcome {
            if let Skip::MissingData(why) = skip {
                tracing::warn!(site = %self.settings.site, loop_name = kind.as_str(), reason = %Untrusted(&why), "controller loop made no decision");
            }
            self.telemetry.loop_error(kind.as_str(), skip.kind());
        }
        self.telemetry.loop_ran(kind.as_str(), result.as_str(), seconds);
        let run = LoopRun { at, seconds, result, detail };
        self.rt(|rt| rt.runs.insert(RunKey::Loop(kind), run));
    }
}

/// The loops other than the lease's, in the order a tick runs them.
const WORK_LOOPS: [LoopKind; 5] = [
    LoopKind::Reachability,
    LoopKind::Pass,
    LoopKind::Supervision,
    LoopKind::GroupBalancePlan,
    LoopKind::GroupBalancePass,
];

/// Runs the controller's loops until the process ends or the handle is aborted.
///
/// The lease has a task of its own: the other loops run one after another and may wait on a
/// slow Prometheus, backend or store for longer than the lease lives; the lease must not wait
/// with them, or leadership flaps. They need not share a task for safety: a loop starts only
/// while a lease is held, and every write checks the lease in the store first (fencing,
/// `still_leads`), so a loop that outlives the lease writes nothing.
pub fn spawn(controller: Arc<Controller>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Take the lease before the first pass, so that a leader's loops do not start skipped.
        controller.tick_loops(&[LoopKind::Leader]).await;
        // Dropping the set (when this task is aborted) aborts both loops.
        let mut loops = tokio::task::JoinSet::new();
        let leader = controller.clone();
        loops.spawn(async move {
            let mut ticker = every_second();
            loop {
                ticker.tick().await;
                leader.tick_loops(&[LoopKind::Leader]).await;
            }
        });
        loops.spawn(async move {
            let mut ticker = every_second();
            loop {
                ticker.tick().await;
                controller.tick_loops(&WORK_LOOPS).await;
            }
        });
        while loops.join_next().await.is_some() {}
    })
}

fn every_second() -> tokio::time::Interval {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker
}
