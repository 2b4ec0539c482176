//! What the UI reads from the controller: its state, the live moves, a dry evaluation.

use uuid::Uuid;

use super::Controller;
use crate::ports::{site_id_by_name, StoreError};
use domain::{
    feature::{Feature, FeatureState},
    loops::{ControllerStatus, LoopResult},
    moves::MoveRecord,
    planning::Decision,
    probe::ReachabilityState,
    PageRequest,
};

impl Controller {
    /// The controller's state for the UI.
    pub async fn status(&self) -> ControllerStatus {
        let site_lookup = site_id_by_name(self.ports.geodb.as_ref(), &self.settings.site).await;
        let site_id = site_lookup.as_ref().ok().copied().flatten();
        let modes = match site_id {
            Some(id) => self.modes(id).await.map(|m| m.into_iter().collect()).unwrap_or_default(),
            None => Feature::ALL.into_iter().map(|f| (f, FeatureState::Off)).collect(),
        };
        // Both from Redis, at once: a Redis outage costs `/healthz` one timeout, not two.
        let (leader, plan) = tokio::join!(
            self.ports.lease.current(&self.settings.site),
            self.ports.plans.plan_summary(&self.settings.site)
        );
        let plan = plan.ok().flatten();
        let mut problems = Vec::new();
        match &site_lookup {
            Err(err) => problems.push(format!("GeoDB unavailable: {err}")),
            Ok(None) => problems.push(format!("site {} (CLUSTER_SITE) not found in the GeoDB", self.settings.site)),
            Ok(Some(_)) => {}
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
            if run.result == LoopResult::Failed {
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

    /// The latest doveadm probe verdict of each of `hosts` in this controller's site, in
    /// order; `None` for a host not probed (yet). Reads memory only.
    pub fn reachable(&self, site_name: &str, hosts: &[&str]) -> Vec<Option<bool>> {
        if site_name != self.settings.site {
            return vec![None; hosts.len()];
        }
        self.rt(|rt| hosts.iter().map(|h| rt.probes.get(*h).map(|p| p.reachable)).collect())
    }

    /// The active moves and those that ended in the last ten minutes, newest first: what the
    /// live views show, so that a move is seen to reach its end.
    pub async fn live_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, StoreError> {
        let mut moves = self.ports.records.list_active_moves(site_id).await?;
        let cutoff = self.now() - chrono::Duration::minutes(10);
        let page = self.ports.records.list_moves(site_id, PageRequest::first(50)).await?;
        moves.extend(
            page.items.into_iter().filter(|m| !m.state.is_active() && m.finished_at.is_some_and(|t| t >= cutoff)),
        );
        moves.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(moves)
    }

    /// What the controller would do now, every feature treated as dry: nothing is written
    /// or recorded.
    pub async fn evaluate(&self) -> Result<Vec<Decision>, String> {
        self.evaluate_pass().await.map_err(|e| e.to_string())
    }
}
