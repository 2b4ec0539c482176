//! Group-size balancing (docs/controller.md, "Group-size balancing"): a daily plan of user moves between groups of one backend,
//! carried out a capped number per pass.

use domain::doveadm::DoveadmCommand;

use super::{
    snapshot::{missing, mode_of, Snapshot},
    Controller, Skip,
};
use crate::ports::{read_all, Lease};
use domain::{
    decisions::Outcome,
    edition::DovecotEdition,
    feature::{Feature, FeatureState},
    moves::PlanEntry,
    planning::{group_balance, Decision, DecisionInputs, GroupBalancePassInputs, Reason},
    routing::stable_hash,
};

impl Controller {
    /// What both group-balance loops start from: the lease, a snapshot, and the feature's mode
    /// (never off). Dovecot CE cannot move single users, so there the feature is always off.
    async fn group_balance_inputs(&self) -> Result<(Lease, Snapshot, FeatureState), Skip> {
        if self.settings.dovecot.edition == DovecotEdition::Ce {
            return Err(Skip::Off);
        }
        let lease = self.held_lease().ok_or(Skip::NotLeader)?;
        let snap = self.snapshot().await?;
        match mode_of(&self.modes(snap.site_id).await?, Feature::GroupBalance) {
            FeatureState::Off => Err(Skip::Off),
            mode => Ok((lease, snap, mode)),
        }
    }

    pub(super) async fn plan_group_balance(&self) -> Result<String, Skip> {
        let (lease, snap, mode) = self.group_balance_inputs().await?;
        let now = self.now();
        let today = now.date_naive();
        if self.rt(|rt| rt.last_plan_day == Some(today)) {
            return Ok("planned today already".into());
        }
        let summary =
            self.ports.plans.plan_summary(&self.settings.site).await.map_err(missing("the group balance plan"))?;
        if mode == FeatureState::On && summary.as_ref().is_some_and(|s| s.created_at.date_naive() == today) {
            self.rt(|rt| rt.last_plan_day = Some(today));
            return Ok("planned today already".into());
        }
        let census = self.census.latest();
        let fresh = census.taken_at.is_some_and(|t| now - t < chrono::Duration::hours(26));
        if !fresh {
            return Err(Skip::MissingData("waiting for a user census (none in the last 26 hours)".into()));
        }
        let sized: Vec<group_balance::SizedGroup> = snap
            .groups
            .iter()
            .filter_map(|g| {
                Some(group_balance::SizedGroup {
                    name: g.name.clone(),
                    backend_id: g.backend_id?,
                    users: census.users_in(snap.site_id, &g.name),
                    moving: g.is_moving(),
                    sticky_users: g.has_sticky_users(),
                })
            })
            .collect();
        let transfers = group_balance::plan_transfers(&sized, &self.settings.group_balance);
        let mut entries = Vec::new();
        for planned in &transfers {
            let (from, to) = (&planned.from.name, &planned.to.name);
            let members = read_all(|page| self.ports.members.list_members(snap.site_id, from, page))
                .await
                .map_err(missing("the group members"))?;
            let mut members: Vec<String> = members.into_iter().filter(|u| !u.starts_with("probe-")).collect();
            members.sort_by_key(|u| (stable_hash(u), u.clone()));
            entries.extend(members.into_iter().take(planned.users as usize).map(|user| PlanEntry {
                user,
                from_group: from.clone(),
                to_group: to.clone(),
                backend_id: planned.backend_id,
            }));
        }
        // One decision per backend, each built as it is recorded.
        for decision in group_balance::decisions(&transfers, &self.settings.group_balance) {
            if mode == FeatureState::On {
                self.record(snap.site_id, &decision, mode, Outcome::Applied, "planned", &lease).await?;
            } else {
                self.record(snap.site_id, &decision, mode, Outcome::Dry, "", &lease).await?;
            }
        }
        if mode == FeatureState::On {
            self.still_leads().await.map_err(Skip::MissingData)?;
            self.ports
                .plans
                .replace_plan(&self.settings.site, now, &entries)
                .await
                .map_err(missing("the group balance plan store"))?;
        }
        self.rt(|rt| rt.last_plan_day = Some(today));
        Ok(format!("{mode}: {} transfers, {} user moves planned", transfers.len(), entries.len()))
    }

    pub(super) async fn group_balance_pass(&self) -> Result<String, Skip> {
        let (lease, snap, mode) = self.group_balance_inputs().await?;
        let cap = self.settings.group_balance_max_user_moves_per_pass as usize;
        if mode != FeatureState::On {
            let summary = self.ports.plans.plan_summary(&self.settings.site).await.ok().flatten();
            let remaining = summary.map(|s| s.remaining).unwrap_or(0);
            return Ok(format!("dry: would move up to {} of {remaining} planned users", cap.min(remaining as usize)));
        }
        self.still_leads().await.map_err(Skip::MissingData)?;
        let entries =
            self.ports.plans.take_entries(&self.settings.site, cap).await.map_err(missing("the group balance plan"))?;
        if entries.is_empty() {
            return Ok("no planned user moves".into());
        }
        let (mut moved, mut skipped, mut failed) = (0u64, Vec::new(), Vec::new());
        for e in &entries {
            match self.move_user(&snap, e).await {
                Ok(true) => moved += 1,
                Ok(false) => skipped.push(e.user.clone()),
                Err(why) => failed.push(format!("{}: {why}", e.user)),
            }
        }
        let rejected = skipped
            .iter()
            .map(|u| (u.clone(), "no longer in the planned group, or a group moved".to_string()))
            .chain(failed.iter().map(|f| (f.clone(), "failed".to_string())))
            .collect();
        let decision = Decision {
            feature: Feature::GroupBalance,
            reason: Reason::PlannedUsersMoved,
            action: None,
            summary: format!(
                "pass: moved {moved} of {} planned users ({} no longer valid, {} failed)",
                entries.len(),
                skipped.len(),
                failed.len()
            ),
            inputs: DecisionInputs::GroupBalancePass(GroupBalancePassInputs { cap: cap as u64, moved }),
            rejected,
        };
        let outcome = if failed.is_empty() { Outcome::Applied } else { Outcome::Failed };
        self.record(snap.site_id, &decision, mode, outcome, &failed.join("; "), &lease).await?;
        Ok(decision.summary)
    }

    /// Reassigns one user if the plan still holds for it: `clusterUserMove` then `clusterUserAccess`.
    async fn move_user(&self, snap: &Snapshot, e: &PlanEntry) -> Result<bool, String> {
        let geodb = self.ports.geodb.as_ref();
        let Some(user) = geodb.get_user(&e.user).await.map_err(|x| x.to_string())? else { return Ok(false) };
        let on_backend = |name: &str| {
            snap.groups.iter().any(|g| g.name == name && g.backend_id == Some(e.backend_id) && !g.is_moving())
        };
        let valid = user.preferred_site_id == Some(snap.site_id)
            && user.group_name == e.from_group
            && user.moving_group_name.is_empty()
            && on_backend(&e.from_group)
            && on_backend(&e.to_group);
        if !valid {
            return Ok(false);
        }
        let host = snap.host(e.backend_id);
        let failover = if user.failover_site_group_name.is_empty() {
            e.to_group.clone()
        } else {
            user.failover_site_group_name.clone()
        };
        let moved = DoveadmCommand::ClusterUserMove {
            user: e.user.clone(),
            group: e.to_group.clone(),
            failover_group: failover,
            site: self.settings.site.clone(),
        };
        self.ports.doveadm.run(&host, &moved).await.map_err(|x| x.to_string())?;
        let access = DoveadmCommand::ClusterUserAccess { user: e.user.clone() };
        self.ports.doveadm.run(&host, &access).await.map_err(|x| x.to_string())?;
        Ok(true)
    }
}
