//! The cluster controller of one site: loops that read the GeoDB, the metrics and the
//! backends' doveadm API, ask the pure planners in [`crate::domain::planning`] what to do,
//! and apply (or, when dry, only record) the decisions.
//!
//! Only the instance holding the site's leader lease runs the loops. Every write checks the
//! lease's fencing token first, and the GeoDB writes that start or end moves are conditional
//! (Cassandra lightweight transactions), so a deposed leader's writes are refused.
//! Without fresh data (metrics, GeoDB, Redis) a loop does nothing and says why.

mod loops;
pub mod telemetry;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    domain::{
        cluster::{FeatureState, FEATURES},
        controller::{effective_mode, ControllerStatus, LoopRun, MoveRecord, ProbeState, ReachabilityState},
        planning::{
            group_balance::GroupBalanceSettings, host_failure::HostFailureSettings, load_balance::LoadBalanceSettings,
            supervision::SupervisionSettings, Decision,
        },
    },
    ports::{BalancePlanStore, Clock, ControllerStore, Doveadm, GeoDb, GroupMembers, LeaderLease, Lease, Metrics},
    services::Census,
};

pub use telemetry::Telemetry;

/// What the controller runs on.
#[derive(Clone)]
pub struct ControllerPorts {
    pub geodb: Arc<dyn GeoDb>,
    pub store: Arc<dyn ControllerStore>,
    pub plans: Arc<dyn BalancePlanStore>,
    pub members: Arc<dyn GroupMembers>,
    pub metrics: Arc<dyn Metrics>,
    pub doveadm: Arc<dyn Doveadm>,
    pub lease: Arc<dyn LeaderLease>,
    pub clock: Arc<dyn Clock>,
    /// The latest user census (users per group), shared with the UI.
    pub census: Arc<Census>,
}

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
}

/// The loops, by the name their runs are reported under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoopKind {
    Leader,
    Reachability,
    Pass,
    Supervision,
    GroupBalancePlan,
    GroupBalancePass,
}

impl LoopKind {
    pub const ALL: [LoopKind; 6] =
        [LoopKind::Leader, LoopKind::Reachability, LoopKind::Pass, LoopKind::Supervision, LoopKind::GroupBalancePlan, LoopKind::GroupBalancePass];

    pub fn name(self) -> &'static str {
        match self {
            LoopKind::Leader => "leader",
            LoopKind::Reachability => "reachability",
            LoopKind::Pass => "pass",
            LoopKind::Supervision => "supervision",
            LoopKind::GroupBalancePlan => "group_balance_plan",
            LoopKind::GroupBalancePass => "group_balance_pass",
        }
    }
}

#[derive(Default)]
struct Runtime {
    lease: Option<Lease>,
    lease_problem: Option<String>,
    next_due: HashMap<LoopKind, DateTime<Utc>>,
    runs: BTreeMap<String, LoopRun>,
    probes: BTreeMap<String, ProbeState>,
    probed: bool,
    /// The last recorded summary per feature and key, to record repeats at most every 10 minutes.
    last_recorded: HashMap<String, (String, DateTime<Utc>)>,
    last_load_balance_move: Option<DateTime<Utc>>,
    last_load_balance_loaded: bool,
    last_plan_day: Option<chrono::NaiveDate>,
}

/// One site's controller.
pub struct Controller {
    ports: ControllerPorts,
    settings: ControllerSettings,
    runtime: Mutex<Runtime>,
    telemetry: Telemetry,
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
    pub fn new(ports: ControllerPorts, settings: ControllerSettings) -> Arc<Self> {
        Arc::new(Self { ports, settings, runtime: Mutex::new(Runtime::default()), telemetry: Telemetry::default() })
    }

    pub fn settings(&self) -> &ControllerSettings {
        &self.settings
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    pub fn store(&self) -> &Arc<dyn ControllerStore> {
        &self.ports.store
    }

    fn rt<R>(&self, f: impl FnOnce(&mut Runtime) -> R) -> R {
        let mut rt = self.runtime.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rt)
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// The lease this instance holds, if it leads.
    pub fn held_lease(&self) -> Option<Lease> {
        self.rt(|rt| rt.lease.clone())
    }

    /// Runs every loop that is due. The scheduler calls this every second.
    pub async fn tick(&self) {
        let now = self.now();
        for kind in LoopKind::ALL {
            let due = self.rt(|rt| rt.next_due.get(&kind).is_none_or(|t| *t <= now));
            if due {
                self.run(kind).await;
                let interval = self.interval(kind);
                self.rt(|rt| rt.next_due.insert(kind, now + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX)));
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
        let result = match kind {
            LoopKind::Leader => self.renew_lease().await,
            LoopKind::Reachability => self.probe_backends().await,
            LoopKind::Pass => self.pass().await,
            LoopKind::Supervision => self.supervise_moves().await,
            LoopKind::GroupBalancePlan => self.plan_group_balance().await,
            LoopKind::GroupBalancePass => self.group_balance_pass().await,
        };
        let seconds = started.elapsed().as_secs_f64();
        let (label, detail) = match &result {
            Ok(detail) => ("ran", detail.clone()),
            Err(Skip::Off) => ("skipped", "feature off".to_string()),
            Err(Skip::NotLeader) => ("skipped", self.not_leader_detail()),
            Err(Skip::MissingData(why)) => ("failed", why.clone()),
        };
        if let Err(skip) = &result {
            if let Skip::MissingData(why) = skip {
                tracing::warn!(site = %self.settings.site, loop_name = kind.name(), reason = %why, "controller loop made no decision");
            }
            self.telemetry.loop_error(kind.name(), skip.kind());
        }
        self.telemetry.loop_ran(kind.name(), label, seconds);
        let run = LoopRun { at, seconds, result: label.to_string(), detail };
        self.rt(|rt| rt.runs.insert(kind.name().to_string(), run));
    }

    fn not_leader_detail(&self) -> String {
        self.rt(|rt| match &rt.lease_problem {
            Some(problem) => format!("not leading: {problem}"),
            None => "standby: another instance leads".to_string(),
        })
    }

    async fn renew_lease(&self) -> Result<String, Skip> {
        let site = &self.settings.site;
        let result = self.ports.lease.acquire_or_renew(site, &self.settings.instance, self.settings.intervals.lease_ttl).await;
        let (lease, problem) = match result {
            Ok(lease) => (lease, None),
            Err(err) => (None, Some(format!("leader lease unavailable ({err})"))),
        };
        let previous = self.rt(|rt| {
            let previous = rt.lease.clone();
            rt.lease = lease.clone();
            rt.lease_problem = problem.clone();
            previous
        });
        self.telemetry.leader(site, lease.is_some());
        match (&previous, &lease) {
            (None, Some(l)) => tracing::info!(site = %site, token = l.token, "this instance now leads the site"),
            (Some(p), None) => tracing::warn!(site = %site, token = p.token, problem = ?problem, "this instance no longer leads the site"),
            _ => {}
        }
        match (lease, problem) {
            (Some(l), _) => Ok(format!("leading with token {}", l.token)),
            (None, Some(problem)) => Err(Skip::MissingData(problem)),
            (None, None) => Err(Skip::NotLeader),
        }
    }

    /// Fencing: true only while the lease in Redis is still ours, with our token.
    async fn still_leads(&self) -> Result<Lease, String> {
        let Some(mine) = self.held_lease() else {
            return Err("this instance does not lead the site".into());
        };
        match self.ports.lease.current(&self.settings.site).await {
            Ok(Some(current)) if current == mine => Ok(mine),
            Ok(Some(current)) => {
                self.rt(|rt| rt.lease = None);
                Err(format!("deposed: {} leads with token {}", current.holder, current.token))
            }
            Ok(None) => {
                self.rt(|rt| rt.lease = None);
                Err("the lease expired".into())
            }
            Err(err) => Err(format!("cannot check the lease: {err}")),
        }
    }

    /// Effective modes of the site's features (feature state, global `DRY_RUN`,
    /// `GROUP_BALANCE_ENABLED`).
    async fn modes(&self, site_id: Uuid) -> Result<BTreeMap<&'static str, FeatureState>, Skip> {
        let rows = crate::ports::read_all(|page| self.ports.geodb.list_settings(crate::domain::cluster::FEATURE_SECTION, page))
            .await
            .map_err(|e| Skip::MissingData(format!("cannot read the feature states: {e}")))?;
        Ok(crate::domain::cluster::feature_states(&rows, site_id)
            .into_iter()
            .map(|(f, state)| {
                let state = if f == "group_balance" && !self.settings.group_balance_enabled { FeatureState::Off } else { state };
                (f, effective_mode(state, self.settings.dry_run))
            })
            .collect())
    }

    /// The controller's state for the UI.
    pub async fn status(&self) -> ControllerStatus {
        let site_id = crate::ports::site_id_by_name(self.ports.geodb.as_ref(), &self.settings.site).await.ok().flatten();
        let modes = match site_id {
            Some(id) => self.modes(id).await.map(|m| m.into_iter().map(|(f, s)| (f.to_string(), s)).collect()).unwrap_or_default(),
            None => FEATURES.iter().map(|f| (f.to_string(), FeatureState::Off)).collect(),
        };
        let leader = self.ports.lease.current(&self.settings.site).await;
        let plan = self.ports.plans.plan_summary(&self.settings.site).await.ok().flatten();
        let mut problems = Vec::new();
        if site_id.is_none() {
            problems.push(format!("site {} (CLUSTER_SITE) not found in the GeoDB", self.settings.site));
        }
        if let Err(err) = &leader {
            problems.push(format!("Redis unavailable: {err}"));
        }
        let (runs, reachability, lease) = self.rt(|rt| {
            let reach = rt
                .probes
                .iter()
                .map(|(host, p)| ReachabilityState {
                    host: host.clone(),
                    reachable: p.reachable,
                    since: p.since.unwrap_or_default(),
                    last_error: p.last_error.clone(),
                })
                .collect::<Vec<_>>();
            (rt.runs.clone(), reach, rt.lease.clone())
        });
        for (name, run) in &runs {
            if run.result == "failed" {
                problems.push(format!("{name}: {}", run.detail));
            }
        }
        ControllerStatus {
            site: self.settings.site.clone(),
            site_id,
            instance: self.settings.instance.clone(),
            leader: leader.ok().flatten().map(|l| (l.holder, l.token)),
            this_instance_leads: lease.is_some(),
            dry_run: self.settings.dry_run,
            group_balance_enabled: self.settings.group_balance_enabled,
            modes,
            loops: runs,
            reachability,
            problems,
            plan,
        }
    }

    /// The active moves and those that ended in the last ten minutes, newest first: what the
    /// live views show, so that a move is seen to reach its end.
    pub async fn live_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, crate::ports::StoreError> {
        let mut moves = self.ports.store.list_active_moves(site_id).await?;
        let cutoff = self.now() - chrono::Duration::minutes(10);
        let page = self.ports.store.list_moves(site_id, crate::domain::PageRequest::first(50)).await?;
        moves.extend(page.items.into_iter().filter(|m| !m.state.is_active() && m.finished_at.is_some_and(|t| t >= cutoff)));
        moves.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(moves)
    }

    /// What the controller would do now, every feature treated as dry: nothing is written
    /// or recorded.
    pub async fn evaluate(&self) -> Result<Vec<Decision>, String> {
        self.evaluate_pass().await.map_err(|e| e.to_string())
    }

    /// An operator forces an active move: the group's backend becomes the destination now.
    pub async fn force_move(&self, site_id: Uuid, move_id: Uuid, operator: &str) -> Result<MoveRecord, String> {
        self.end_move_by_operator(site_id, move_id, operator, true).await
    }

    /// An operator cancels a move that has not started: the group stays on its source.
    pub async fn cancel_move(&self, site_id: Uuid, move_id: Uuid, operator: &str) -> Result<MoveRecord, String> {
        self.end_move_by_operator(site_id, move_id, operator, false).await
    }
}

/// Runs the controller's loops until the process ends: a tick every second.
pub fn spawn(controller: Arc<Controller>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            controller.tick().await;
        }
    })
}
