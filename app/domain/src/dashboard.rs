//! What the cluster overview and a site's dashboard show, and the rules that raise an alert.
//! View types only: the pages never see storage encodings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;
use uuid::Uuid;

use super::{decisions::DecisionRecord, geodb::BackendStatus, moves::MoveRecord, SiteStatus};

/// One backend as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendHealth {
    pub id: Uuid,
    pub host: String,
    pub status: BackendStatus,
    pub load_factor: i32,
    /// Failed logins and deliveries over all of them, over the last 5 minutes.
    pub failure_ratio: Option<f64>,
    /// The host's Z-scores summed, averaged over the controller's score window.
    pub summed_zscore: Option<f64>,
    pub users: Option<u64>,
    pub groups: Option<u64>,
    /// The controller's doveadm probe (only for the site this instance controls).
    pub reachable: Option<bool>,
}

closed_set! {
    /// What needs an operator's eye; its word is also the alert's CSS class.
    #[derive(PartialOrd, Ord)]
    pub enum AlertKind("alert", "kind") {
        /// The site is not online: its users are served by their failover site.
        SiteDown = "site-down",
        /// Another site's proxies cannot reach this site (`site_reachability`).
        SiteUnreachable = "site-unreachable",
        /// A force-move or recover of the site or one of its backends is moving users.
        ForceMoveRunning = "force-move-running",
        /// A backend failing logins or deliveries above `HOST_FAILURE_RATIO`, or offline.
        FailingBackend = "failing-backend",
        /// The controller's doveadm probe cannot reach a backend.
        UnreachableBackend = "unreachable-backend",
        /// No census yet, or the last one is older than two census intervals.
        StaleCensus = "stale-census",
        /// Prometheus (or the simulator) did not answer, or has no traffic for the site.
        NoMetrics = "no-metrics",
        /// Nobody holds the site's controller lease.
        NoLeader = "no-leader",
    }
}

/// One alert and what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub message: String,
}

/// What the alert rules look at.
#[derive(Debug, Clone)]
pub struct AlertInputs<'a> {
    pub site_status: &'a SiteStatus,
    /// The sites whose proxies cannot reach this one, by name.
    pub unreachable_from: &'a [String],
    /// The force-moves and recovers of the site and its backends.
    pub force_moves: &'a [crate::force_move::ForceMoveView],
    pub backends: &'a [BackendHealth],
    /// `HOST_FAILURE_RATIO`.
    pub failure_ratio_limit: f64,
    pub census_at: Option<DateTime<Utc>>,
    pub census_interval: std::time::Duration,
    /// Why the metrics could not be read, if they could not.
    pub metrics_error: Option<String>,
    /// Whether any backend of the site had traffic.
    pub any_traffic: bool,
    /// `None` when the lease could not be read.
    pub leader: Option<Option<String>>,
    pub now: DateTime<Utc>,
}

/// The site's alerts, most urgent kind first. A pure function of what the dashboard read.
pub fn alerts(inputs: &AlertInputs<'_>) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let down = match inputs.site_status {
        SiteStatus::Online => None,
        SiteStatus::Offline => Some("this site is offline: its users are served by their failover site".to_string()),
        SiteStatus::Standby => {
            Some("this site is in standby: it takes no users; they are served by their failover site".to_string())
        }
        SiteStatus::Evacuate => Some("this site is being evacuated: its users go to their failover site".to_string()),
        SiteStatus::Other(word) => Some(format!(
            "this site's status is {}: proxies do not trust it with users",
            super::logtext::Untrusted(word)
        )),
    };
    if let Some(message) = down {
        alerts.push(Alert { kind: AlertKind::SiteDown, message });
    }
    if !inputs.unreachable_from.is_empty() {
        alerts.push(Alert {
            kind: AlertKind::SiteUnreachable,
            message: format!(
                "the proxies of {} cannot reach this site: they send its users to a failover site",
                inputs.unreachable_from.join(", ")
            ),
        });
    }
    for running in inputs.force_moves.iter().filter(|v| v.live) {
        let op = &running.operation;
        let message = match op.kind {
            crate::force_move::ForceMoveKind::ForceMove => format!(
                "force-move of {} running: {} % of its users move to {} at their next login",
                running.source,
                op.percent,
                running.destinations.join(", ")
            ),
            crate::force_move::ForceMoveKind::Recover => format!(
                "recover of {} running: {} % of the users force-moved out of it come back at their next login",
                running.source, op.percent
            ),
        };
        alerts.push(Alert { kind: AlertKind::ForceMoveRunning, message });
    }
    for b in inputs.backends {
        let failing = b.failure_ratio.filter(|r| *r >= inputs.failure_ratio_limit);
        if let Some(ratio) = failing {
            alerts.push(Alert {
                kind: AlertKind::FailingBackend,
                message: format!(
                    "{} fails {:.0} % of logins and deliveries (limit {:.0} %)",
                    b.host,
                    ratio * 100.0,
                    inputs.failure_ratio_limit * 100.0
                ),
            });
        } else if b.status == BackendStatus::Offline {
            alerts.push(Alert { kind: AlertKind::FailingBackend, message: format!("{} is offline", b.host) });
        }
        if b.reachable == Some(false) {
            alerts.push(Alert {
                kind: AlertKind::UnreachableBackend,
                message: format!("{}: its doveadm API does not answer", b.host),
            });
        }
    }
    let stale_after = chrono::Duration::from_std(inputs.census_interval * 2).unwrap_or(chrono::Duration::MAX);
    match inputs.census_at {
        None => alerts.push(Alert { kind: AlertKind::StaleCensus, message: "no census has been taken yet".into() }),
        Some(at) if inputs.now - at > stale_after => alerts.push(Alert {
            kind: AlertKind::StaleCensus,
            message: format!(
                "the last census is {} old (one is due every {})",
                super::time::duration_words((inputs.now - at).num_seconds().max(0).unsigned_abs()),
                super::time::duration_words(inputs.census_interval.as_secs())
            ),
        }),
        Some(_) => {}
    }
    match &inputs.metrics_error {
        Some(reason) => alerts.push(Alert { kind: AlertKind::NoMetrics, message: format!("no metrics: {reason}") }),
        None if !inputs.any_traffic && !inputs.backends.is_empty() => alerts.push(Alert {
            kind: AlertKind::NoMetrics,
            message: "no traffic to this site's backends in the last 5 minutes".into(),
        }),
        None => {}
    }
    match &inputs.leader {
        Some(None) => alerts.push(Alert {
            kind: AlertKind::NoLeader,
            message: "no controller leads this site: nothing is watched or balanced".into(),
        }),
        None => alerts.push(Alert { kind: AlertKind::NoLeader, message: "cannot tell who leads this site".into() }),
        Some(Some(_)) => {}
    }
    alerts.sort_by_key(|a| a.kind);
    alerts
}

/// A site's dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteDashboard {
    pub site_id: Uuid,
    pub site_name: String,
    pub site_status: SiteStatus,
    /// Every backend, those that need attention first.
    pub backends: Vec<BackendHealth>,
    pub active_moves: Vec<MoveRecord>,
    /// The lease holder, if anyone leads.
    pub leader: Option<String>,
    /// Today's latest decisions, newest first.
    pub decisions: Vec<DecisionRecord>,
    pub alerts: Vec<Alert>,
    pub census_at: Option<DateTime<Utc>>,
}

/// One site on the cluster overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSummary {
    pub id: Uuid,
    pub name: String,
    pub status: SiteStatus,
    pub backends: usize,
    pub online: usize,
    pub active_moves: usize,
    pub leader: Option<String>,
    pub alerts: Vec<Alert>,
    /// Each other site's proxies, by name, and whether they reach this site
    /// (`site_reachability`; a site without a row is not listed).
    pub reached_from: Vec<(String, bool)>,
    /// The sites that could take this site's users now, by name (online, and reached from it).
    pub failover_to: Vec<String>,
}

closed_set! {
    /// The history charts of a site's dashboard; the word is the chart's id in the page.
    pub enum ChartKind("chart", "chart") {
        FailureRatio = "failure-ratio",
        Logins = "logins",
        SummedZScore = "zscore",
        UsersPerBackend = "users",
        MovesPerHour = "moves",
    }
}

impl ChartKind {
    pub fn title(self) -> &'static str {
        match self {
            ChartKind::FailureRatio => "Failure ratio per backend, last 6 hours",
            ChartKind::Logins => "Logins per minute per backend, last 6 hours",
            ChartKind::SummedZScore => "Summed Z-score per backend, last 6 hours",
            ChartKind::UsersPerBackend => "Users per backend, last 7 days",
            ChartKind::MovesPerHour => "Group moves per hour by feature and outcome, last 24 hours",
        }
    }
}

/// One chart's data: values on a shared time axis, one line (or bar series) per name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    pub kind: ChartKind,
    /// The time of each column, oldest first.
    pub times: Vec<DateTime<Utc>>,
    /// Name and one value per column (`None`: nothing measured then).
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// Why there is no data, when the source failed.
    pub error: Option<String>,
}

impl ChartData {
    /// Values actually measured, over all series.
    pub fn points(&self) -> usize {
        self.series.iter().map(|(_, values)| values.iter().flatten().count()).sum()
    }
}

/// A rendered chart, as a page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    pub kind: ChartKind,
    /// The chart as SVG markup, made on the server from our own numbers and names.
    pub svg: String,
    pub points: usize,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(host: &str, status: BackendStatus, ratio: Option<f64>, reachable: Option<bool>) -> BackendHealth {
        BackendHealth {
            id: Uuid::new_v4(),
            host: host.into(),
            status,
            load_factor: 100,
            failure_ratio: ratio,
            summed_zscore: None,
            users: None,
            groups: None,
            reachable,
        }
    }

    #[test]
    fn alerts_name_what_needs_an_eye() {
        let now = Utc::now();
        let backends = [
            backend("be1", BackendStatus::Online, Some(0.5), Some(true)),
            backend("be2", BackendStatus::Offline, Some(0.0), Some(false)),
            backend("be3", BackendStatus::Online, Some(0.01), None),
        ];
        let inputs = AlertInputs {
            site_status: &SiteStatus::Online,
            unreachable_from: &[],
            force_moves: &[],
            backends: &backends,
            failure_ratio_limit: 0.2,
            census_at: Some(now - chrono::Duration::hours(3)),
            census_interval: std::time::Duration::from_secs(3600),
            metrics_error: None,
            any_traffic: true,
            leader: Some(None),
            now,
        };
        let kinds: Vec<AlertKind> = alerts(&inputs).iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            [
                AlertKind::FailingBackend,
                AlertKind::FailingBackend,
                AlertKind::UnreachableBackend,
                AlertKind::StaleCensus,
                AlertKind::NoLeader
            ]
        );
        let calm = AlertInputs {
            census_at: Some(now),
            leader: Some(Some("ctl-1".into())),
            backends: &backends[2..],
            ..inputs.clone()
        };
        assert!(alerts(&calm).is_empty());
        let dark = AlertInputs { any_traffic: false, ..calm.clone() };
        assert_eq!(alerts(&dark).iter().map(|a| a.kind).collect::<Vec<_>>(), [AlertKind::NoMetrics]);
        let down = AlertInputs { metrics_error: Some("unreachable".into()), ..calm.clone() };
        assert!(alerts(&down)[0].message.contains("unreachable"));
        let cut = ["dc2a".to_string()];
        let offline = AlertInputs { site_status: &SiteStatus::Offline, unreachable_from: &cut, ..calm.clone() };
        let site_alerts = alerts(&offline);
        assert_eq!(
            site_alerts.iter().map(|a| a.kind).collect::<Vec<_>>(),
            [AlertKind::SiteDown, AlertKind::SiteUnreachable]
        );
        assert!(site_alerts[1].message.contains("dc2a"), "{site_alerts:?}");
        let running = force_move_view(true);
        let moving = AlertInputs { force_moves: std::slice::from_ref(&running), ..calm.clone() };
        let moving_alerts = alerts(&moving);
        assert_eq!(moving_alerts.iter().map(|a| a.kind).collect::<Vec<_>>(), [AlertKind::ForceMoveRunning]);
        assert!(moving_alerts[0].message.contains("30 %") && moving_alerts[0].message.contains("dc2b"));
        let ended = force_move_view(false);
        assert!(alerts(&AlertInputs { force_moves: std::slice::from_ref(&ended), ..calm }).is_empty());
    }

    fn force_move_view(live: bool) -> crate::force_move::ForceMoveView {
        use crate::force_move::{ForceMove, ForceMoveKind, ForceMoveScope, ForceMoveView};
        let at = DateTime::UNIX_EPOCH;
        ForceMoveView {
            operation: ForceMove {
                kind: ForceMoveKind::ForceMove,
                scope: ForceMoveScope::Site,
                site_id: uuid::Uuid::nil(),
                backend_id: None,
                id: "x".into(),
                percent: 30,
                destinations: vec![],
                destination_groups: vec![],
                source_status: "online".into(),
                users_at_start: None,
                started_at: at,
                updated_at: at,
                started_by: "admin".into(),
            },
            source: "dc1a".into(),
            destinations: vec!["dc2b".into()],
            live,
            users_at_source: None,
            counted_at: None,
        }
    }
}
