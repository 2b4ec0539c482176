//! The controller's pass (docs/controller.md, "Host failure", "Load balancing", "Drain"): host failure, drain and load balancing
//! planned together on one snapshot, at most one group move started per pass.

use domain::logtext::Untrusted;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    snapshot::{missing, mode_of, Modes, Snapshot},
    Controller, Skip,
};
use domain::{
    decisions::Outcome,
    feature::{Feature, FeatureState},
    loops::{LoopResult, LoopRun, RunKey},
    moves::{Initiator, MoveEnd, MoveRecord, NewMove},
    page::MAX_PAGE_SIZE,
    planning::{evacuation, host_failure, load_balance, Action, Decision, DecisionInputs, Reason, SiteGroups},
    PageRequest,
};

/// Groups whose alternative backend one pass repairs at most: one conditional write each, so
/// draining a backend that is the alternative of thousands of groups repairs them over a few
/// passes rather than in one burst of writes.
const ALT_REPAIRS_PER_PASS: usize = 200;

/// Why a feature could not plan this pass.
pub(super) struct Problem {
    feature: Feature,
    why: String,
}

impl Controller {
    /// Registers moves someone else started (doveadm, another tool) so they are supervised too.
    async fn adopt_moves(&self, snap: &Snapshot) -> Result<(), Skip> {
        let active = self.ports.records.list_active_moves(snap.site_id).await.map_err(missing("the active moves"))?;
        let now = self.now();
        for g in &snap.groups {
            let Some(token) = g.moving_token() else { continue };
            if active.iter().any(|m| m.group == g.name && m.moving_token == token) {
                continue;
            }
            let Some(destination) = g.alt_backend_id else { continue };
            let record = MoveRecord::initiated(NewMove {
                site_id: snap.site_id,
                group: &g.name,
                token,
                source: g.backend_id.map(|id| MoveEnd { id, host: snap.host(id) }),
                destination: MoveEnd { id: destination, host: snap.host(destination) },
                initiator: Initiator::External,
                decision_id: None,
                users_total: self.census.latest().users_in(snap.site_id, &g.name),
                now,
            });
            let recorded = self
                .moves
                .record_start(&record)
                .await
                .map_err(|e| Skip::MissingData(format!("cannot record moves: {e}")))?;
            // Recorded meanwhile by whoever started it.
            if !recorded {
                continue;
            }
            tracing::info!(move_id = %record.id, group = %Untrusted(&g.name), "supervising a move started outside the controller");
        }
        Ok(())
    }

    /// Plans host failure, site health, drain and load balancing on one snapshot. Returns the decisions
    /// and, for features that could not plan, why.
    async fn plan_pass(&self, snap: &Snapshot, modes: &Modes) -> (Vec<Decision>, Vec<Problem>) {
        let now = self.now();
        let states = self.backend_states(snap);
        // One index of the groups by backend for the pass's planners, built when one needs it.
        let groups = SiteGroups::new(&snap.group_states);
        let mut decisions = Vec::new();
        let mut problems = Vec::new();
        let on = |f: Feature| mode_of(modes, f) != FeatureState::Off;
        let problem = |feature: Feature, why: String| Problem { feature, why };
        // Host failure and site health judge the same window of the proxies' sessions.
        let traffic = if on(Feature::HostFailure) || on(Feature::SiteHealth) {
            Some(self.ports.metrics.host_traffic(self.settings.host_failure.window).await.map_err(|e| e.to_string()))
        } else {
            None
        };
        if on(Feature::HostFailure) {
            match &traffic {
                Some(Ok(traffic)) if traffic.is_empty() => {
                    problems.push(problem(Feature::HostFailure, "the metrics show no proxy traffic at all".into()))
                }
                Some(Ok(traffic)) => {
                    decisions.extend(host_failure::plan(&states, &groups, traffic, now, &self.settings.host_failure))
                }
                Some(Err(err)) => problems.push(problem(Feature::HostFailure, err.clone())),
                None => {}
            }
        }
        if on(Feature::SiteHealth) {
            // Without metrics its own site's status is still judged; no reachability changes.
            let empty = std::collections::BTreeMap::new();
            let seen = match &traffic {
                Some(Ok(traffic)) => traffic,
                Some(Err(err)) => {
                    problems.push(problem(Feature::SiteHealth, err.clone()));
                    &empty
                }
                None => &empty,
            };
            let acting = mode_of(modes, Feature::SiteHealth) == FeatureState::On;
            match self.plan_site_health(snap, &states, seen, acting).await {
                Ok(planned) => decisions.extend(planned),
                Err(err) => problems.push(problem(Feature::SiteHealth, format!("cannot read the sites: {err}"))),
            }
        }
        if on(Feature::Evacuation) {
            decisions.extend(evacuation::plan(&states, &groups, now));
            decisions.extend(evacuation::repair_alternatives(&states, &snap.group_states, ALT_REPAIRS_PER_PASS));
        }
        if on(Feature::LoadBalance) {
            match self.ports.metrics.host_scores(&self.settings.site, self.settings.score_window).await {
                Ok(scores) if scores.is_empty() => {
                    problems.push(problem(Feature::LoadBalance, "the metrics have no load scores".into()))
                }
                Ok(scores) => {
                    let last = self.last_load_balance_move(snap.site_id).await;
                    let settings = &self.settings.load_balance;
                    decisions.push(load_balance::plan(&states, &groups, &scores, last, now, settings));
                }
                Err(err) => problems.push(problem(Feature::LoadBalance, err.to_string())),
            }
        }
        (decisions, problems)
    }

    async fn last_load_balance_move(&self, site_id: Uuid) -> Option<DateTime<Utc>> {
        if !self.rt(|rt| rt.last_load_balance_loaded) {
            if let Ok(page) = self.ports.records.list_moves(site_id, PageRequest::first(MAX_PAGE_SIZE)).await {
                let ours = Initiator::Controller(Feature::LoadBalance);
                let last = page.items.iter().filter(|m| m.initiated_by == ours).map(|m| m.created_at).max();
                self.rt(|rt| {
                    rt.last_load_balance_move = rt.last_load_balance_move.max(last);
                    rt.last_load_balance_loaded = true;
                });
            }
        }
        self.rt(|rt| rt.last_load_balance_move)
    }

    pub(super) async fn pass(&self) -> Result<String, Skip> {
        let lease = self.held_lease().ok_or(Skip::NotLeader)?;
        let snap = self.snapshot().await?;
        let modes = self.modes(snap.site_id).await?;
        self.adopt_moves(&snap).await?;
        if !self.rt(|rt| rt.probed) {
            return Err(Skip::MissingData("waiting for the first reachability probe".into()));
        }
        let (decisions, problems) = self.plan_pass(&snap, &modes).await;
        let mut moved = false;
        let mut done = Vec::new();
        for decision in &decisions {
            let mode = mode_of(&modes, decision.feature);
            if decision.feature == Feature::LoadBalance && moved && decision.action.is_some() {
                let summary = format!("held back: another move started this pass ({})", decision.summary);
                let held = Decision { reason: Reason::HeldBack, action: None, summary, ..decision.clone() };
                self.execute(&snap, &held, mode, &lease).await?;
                continue;
            }
            let record = self.execute(&snap, decision, mode, &lease).await?;
            if record.outcome == Outcome::Applied {
                moved |= matches!(decision.action, Some(Action::MoveGroup { .. }));
                done.push(decision.summary.clone());
            } else if record.outcome == Outcome::Dry {
                done.push(format!("dry: {}", decision.summary));
            }
        }
        self.record_feature_runs(&modes, &decisions, &problems);
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.feature, p.why)).collect();
            return Err(Skip::MissingData(text.join("; ")));
        }
        Ok(if done.is_empty() { "nothing to do".into() } else { done.join("; ") })
    }

    /// Each pass feature's run, for the Controller page.
    fn record_feature_runs(&self, modes: &Modes, decisions: &[Decision], problems: &[Problem]) {
        let now = self.now();
        for feature in Feature::PASS {
            let mode = mode_of(modes, feature);
            let problem = problems.iter().find(|p| p.feature == feature);
            let (result, detail) = if mode == FeatureState::Off {
                (LoopResult::Skipped, "feature off".to_string())
            } else if let Some(p) = problem {
                (LoopResult::Failed, p.why.clone())
            } else {
                let mine: Vec<&str> =
                    decisions.iter().filter(|d| d.feature == feature).map(|d| d.summary.as_str()).collect();
                let detail = if mine.is_empty() {
                    "nothing to do".to_string()
                } else {
                    format!("{}: {}", mode, mine.join("; "))
                };
                (LoopResult::Ran, detail)
            };
            self.rt(|rt| rt.runs.insert(RunKey::Feature(feature), LoopRun { at: now, seconds: 0.0, result, detail }));
        }
    }

    /// The pass's decisions with every feature dry; nothing is written or recorded.
    pub(super) async fn evaluate_pass(&self) -> Result<Vec<Decision>, Skip> {
        let snap = self.snapshot().await?;
        if !self.rt(|rt| rt.probed) {
            self.probe_once().await?;
        }
        let modes = Feature::ALL.into_iter().map(|f| (f, FeatureState::Dryrun)).collect();
        let (mut decisions, problems) = self.plan_pass(&snap, &modes).await;
        for problem in problems {
            decisions.push(Decision {
                feature: problem.feature,
                reason: Reason::PlanningFailed,
                action: None,
                summary: format!("{}: {}", problem.feature, problem.why),
                inputs: DecisionInputs::None,
                rejected: vec![],
            });
        }
        Ok(decisions)
    }
}
