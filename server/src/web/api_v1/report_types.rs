//! The API's bodies for what the UI shows but nobody writes: dashboards, charts, the
//! controller's status and evaluation, statistics, operators and progress (see [`super::types`]).

use chrono::{DateTime, Utc};
use domain::{
    cluster::Progress,
    dashboard::{Alert, AlertKind, BackendHealth, ChartData, SiteDashboard, SiteSummary},
    geodb::{BackendStat, ProxyDestStat},
    loops::{ControllerStatus, LoopResult},
    operator::OperatorSummary,
    planning::{Decision, Reason},
    Feature, FeatureState, Role,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::types::{page_of, DecisionOut, MoveOut};

/// Something that needs an operator's eye.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertOut {
    pub kind: AlertKind,
    pub message: String,
}

impl From<&Alert> for AlertOut {
    fn from(a: &Alert) -> Self {
        Self { kind: a.kind, message: a.message.clone() }
    }
}

/// Whether one other site's proxies reach a site.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReachedFromOut {
    pub site: String,
    pub reachable: bool,
}

/// One site on the cluster overview.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SiteSummaryOut {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub backends: usize,
    pub online: usize,
    pub active_moves: usize,
    /// The controller instance holding the site's lease.
    pub leader: Option<String>,
    pub alerts: Vec<AlertOut>,
    /// Each other site whose proxies have a `site_reachability` row for this site.
    pub reached_from: Vec<ReachedFromOut>,
    /// The sites that could take this site's users now (online, and reached from it).
    pub failover_to: Vec<String>,
}

impl From<&SiteSummary> for SiteSummaryOut {
    fn from(s: &SiteSummary) -> Self {
        Self {
            id: s.id,
            name: s.name.clone(),
            status: s.status.as_str().to_string(),
            backends: s.backends,
            online: s.online,
            active_moves: s.active_moves,
            leader: s.leader.clone(),
            alerts: s.alerts.iter().map(AlertOut::from).collect(),
            reached_from: s
                .reached_from
                .iter()
                .map(|(site, reachable)| ReachedFromOut { site: site.clone(), reachable: *reachable })
                .collect(),
            failover_to: s.failover_to.clone(),
        }
    }
}

/// A backend on its site's dashboard: its row with its metrics and reachability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackendHealthOut {
    pub id: Uuid,
    pub host: String,
    pub status: String,
    pub load_factor: i32,
    pub failure_ratio: Option<f64>,
    pub summed_zscore: Option<f64>,
    pub users: Option<u64>,
    pub groups: Option<u64>,
    pub reachable: Option<bool>,
}

impl From<&BackendHealth> for BackendHealthOut {
    fn from(b: &BackendHealth) -> Self {
        Self {
            id: b.id,
            host: b.host.clone(),
            status: b.status.as_str().to_string(),
            load_factor: b.load_factor,
            failure_ratio: b.failure_ratio,
            summed_zscore: b.summed_zscore,
            users: b.users,
            groups: b.groups,
            reachable: b.reachable,
        }
    }
}

/// A site's dashboard: backends' health, active moves, today's decisions and alerts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardOut {
    pub site_id: Uuid,
    pub site_name: String,
    pub site_status: String,
    pub backends: Vec<BackendHealthOut>,
    pub active_moves: Vec<MoveOut>,
    pub leader: Option<String>,
    pub decisions: Vec<DecisionOut>,
    pub alerts: Vec<AlertOut>,
    /// When the census last counted the site's users.
    pub census_at: Option<DateTime<Utc>>,
}

impl From<&SiteDashboard> for DashboardOut {
    fn from(d: &SiteDashboard) -> Self {
        Self {
            site_id: d.site_id,
            site_name: d.site_name.clone(),
            site_status: d.site_status.as_str().to_string(),
            backends: d.backends.iter().map(BackendHealthOut::from).collect(),
            active_moves: d.active_moves.iter().map(MoveOut::from).collect(),
            leader: d.leader.clone(),
            decisions: d.decisions.iter().map(DecisionOut::from).collect(),
            alerts: d.alerts.iter().map(AlertOut::from).collect(),
            census_at: d.census_at,
        }
    }
}

/// One line of a chart: a value per time, absent where there is none.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeriesOut {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// A history chart's data, as the dashboard draws it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChartOut {
    /// `failure-ratio`, `logins`, `zscore`, `users` or `moves`.
    pub kind: String,
    pub title: String,
    pub times: Vec<DateTime<Utc>>,
    pub series: Vec<SeriesOut>,
    /// Why the chart has no data, when it has none.
    pub error: Option<String>,
}

impl From<&ChartData> for ChartOut {
    fn from(c: &ChartData) -> Self {
        Self {
            kind: c.kind.as_str().to_string(),
            title: c.kind.title().to_string(),
            times: c.times.clone(),
            series: c
                .series
                .iter()
                .map(|(name, values)| SeriesOut { name: name.clone(), values: values.clone() })
                .collect(),
            error: c.error.clone(),
        }
    }
}

/// A feature's effective mode on this instance's site.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModeOut {
    pub feature: Feature,
    pub mode: FeatureState,
}

/// How a controller loop's last run went.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoopOut {
    pub name: String,
    pub at: DateTime<Utc>,
    pub seconds: f64,
    pub result: LoopResult,
    pub detail: String,
}

/// What the controller's probe last saw of a backend.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProbeOut {
    pub host: String,
    pub reachable: bool,
    pub since: DateTime<Utc>,
    pub last_error: String,
}

/// The group-size balancing plan in progress.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanOut {
    pub created_at: DateTime<Utc>,
    pub total: u64,
    pub remaining: u64,
}

/// The controller instance that answers: its site, the lease, its loops and probes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ControllerStatusOut {
    pub site: String,
    pub site_id: Option<Uuid>,
    pub instance: String,
    /// The lease holder and its fencing token.
    pub leader: Option<String>,
    pub leader_token: Option<u64>,
    pub this_instance_leads: bool,
    pub dry_run: bool,
    pub group_balance_enabled: bool,
    pub modes: Vec<ModeOut>,
    pub loops: Vec<LoopOut>,
    pub reachability: Vec<ProbeOut>,
    pub problems: Vec<String>,
    pub plan: Option<PlanOut>,
}

impl From<&ControllerStatus> for ControllerStatusOut {
    fn from(s: &ControllerStatus) -> Self {
        Self {
            site: s.site.clone(),
            site_id: s.site_id,
            instance: s.instance.clone(),
            leader: s.leader.as_ref().map(|(holder, _)| holder.clone()),
            leader_token: s.leader.as_ref().map(|(_, token)| *token),
            this_instance_leads: s.this_instance_leads,
            dry_run: s.dry_run,
            group_balance_enabled: s.group_balance_enabled,
            modes: s.modes.iter().map(|(feature, mode)| ModeOut { feature: *feature, mode: *mode }).collect(),
            loops: s
                .loops
                .iter()
                .map(|(name, run)| LoopOut {
                    name: name.to_string(),
                    at: run.at,
                    seconds: run.seconds,
                    result: run.result,
                    detail: run.detail.clone(),
                })
                .collect(),
            reachability: s
                .reachability
                .iter()
                .map(|r| ProbeOut {
                    host: r.host.clone(),
                    reachable: r.reachable,
                    since: r.since,
                    last_error: r.last_error.clone(),
                })
                .collect(),
            problems: s.problems.clone(),
            plan: s.plan.as_ref().map(|p| PlanOut { created_at: p.created_at, total: p.total, remaining: p.remaining }),
        }
    }
}

/// What a feature would decide now; nothing was recorded or written.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvaluationOut {
    pub feature: Feature,
    pub reason: Reason,
    pub summary: String,
    /// The decision with its action and inputs, as the controller would record it.
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
}

impl From<&Decision> for EvaluationOut {
    fn from(d: &Decision) -> Self {
        Self {
            feature: d.feature,
            reason: d.reason,
            summary: d.summary.clone(),
            decision: serde_json::to_value(d).unwrap_or_default(),
        }
    }
}

/// Whether one site's proxies reach another site.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReachabilityOut {
    pub from_site: Uuid,
    pub from_name: Option<String>,
    pub to_site: Uuid,
    pub to_name: Option<String>,
    pub reachable: bool,
    /// When the value was written: it holds since then.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

impl ReachabilityOut {
    /// Every cell of the matrix.
    pub fn all(matrix: &domain::reachability::ReachabilityMatrix) -> Vec<Self> {
        let name = |id: Uuid| matrix.sites.iter().find(|(known, _)| *known == id).map(|(_, n)| n.clone());
        matrix
            .cells
            .iter()
            .map(|c| Self {
                from_site: c.from,
                from_name: name(c.from),
                to_site: c.to,
                to_name: name(c.to),
                reachable: c.reachable,
                since: c.since,
            })
            .collect()
    }
}

/// A statistic a backend reported (`backend_stats`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackendStatOut {
    pub backend: Uuid,
    pub key: String,
    pub value: f64,
    pub kind: String,
}

impl From<&BackendStat> for BackendStatOut {
    fn from(s: &BackendStat) -> Self {
        Self { backend: s.id, key: s.key.clone(), value: s.value, kind: s.kind.clone() }
    }
}

page_of!(BackendStatPage, BackendStatOut);

/// A statistic a proxy reported about a backend it forwards to (`proxy_dest_stats`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProxyStatOut {
    pub proxy: String,
    pub backend_host: String,
    pub key: String,
    pub value: f64,
    pub kind: String,
}

impl From<&ProxyDestStat> for ProxyStatOut {
    fn from(s: &ProxyDestStat) -> Self {
        Self {
            proxy: s.proxy_host.clone(),
            backend_host: s.dest_host.clone(),
            key: s.key.clone(),
            value: s.value,
            kind: s.kind.clone(),
        }
    }
}

page_of!(ProxyStatPage, ProxyStatOut);

/// How many rows a prune removed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PrunedOut {
    pub removed: usize,
}

/// An operator account (never its password hash).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OperatorOut {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&OperatorSummary> for OperatorOut {
    fn from(o: &OperatorSummary) -> Self {
        Self { username: o.username.clone(), role: o.role, disabled: o.disabled, created_at: o.created_at }
    }
}

page_of!(OperatorPage, OperatorOut);

/// A new operator account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    pub username: String,
    pub role: Role,
    pub password: String,
}

/// An operator's new role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

/// Whether an operator account is disabled (a disabled account cannot log in or use a token).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledChange {
    pub disabled: bool,
}

/// An operator's new password; every session of the account ends.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub password: String,
}

/// A page of a group's members (usernames).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A site's initialisation (`POST …/init`) while it runs on this instance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InitProgressOut {
    /// False when no initialisation of the site runs on this instance.
    pub running: bool,
    pub done: u64,
    pub total: u64,
}

impl From<Option<Progress>> for InitProgressOut {
    fn from(p: Option<Progress>) -> Self {
        match p {
            Some(p) => Self { running: p.done < p.total, done: p.done, total: p.total },
            None => Self { running: false, done: 0, total: 0 },
        }
    }
}
