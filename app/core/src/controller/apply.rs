//! Recording and applying decisions: every decision is stored with its inputs; an applied one
//! is stored first, then written only while this instance still leads.

use domain::logtext::Untrusted;
use uuid::Uuid;

use super::{moves::MoveRequest, snapshot::Snapshot, Controller, Skip};
use crate::ports::{Lease, StoreError};
use domain::{
    decisions::{DecisionRecord, Outcome},
    feature::{Feature, FeatureState},
    geodb::BackendStatus,
    moves::Initiator,
    planning::{host_failure, Action, Decision, DecisionInputs},
    WriteError,
};

fn unrecorded(e: StoreError) -> Skip {
    Skip::MissingData(format!("cannot record decisions: {e}"))
}

/// What a refused or failed write makes of the decision.
fn outcome_of(err: &WriteError) -> Outcome {
    match err {
        WriteError::Unavailable(_) => Outcome::Failed,
        WriteError::Refused(_) | WriteError::NotFound(_) | WriteError::Invalid { .. } => Outcome::Refused,
    }
}

impl Controller {
    fn decision_record(
        &self,
        site_id: Uuid,
        decision: &Decision,
        mode: FeatureState,
        outcome: Outcome,
        detail: &str,
        lease: &Lease,
    ) -> DecisionRecord {
        DecisionRecord {
            id: Uuid::new_v4(),
            site_id,
            at: self.now(),
            mode,
            outcome,
            detail: detail.to_string(),
            holder: lease.holder.clone(),
            token: lease.token,
            decision: decision.clone(),
        }
    }

    /// Stores a decision (subject to the repeat rule for dry and non-actions) and counts it.
    pub(super) async fn record(
        &self,
        site_id: Uuid,
        decision: &Decision,
        mode: FeatureState,
        outcome: Outcome,
        detail: &str,
        lease: &Lease,
    ) -> Result<DecisionRecord, Skip> {
        let record = self.decision_record(site_id, decision, mode, outcome, detail, lease);
        let now = record.at;
        if matches!(outcome, Outcome::Dry | Outcome::NoAction) && self.rt(|rt| rt.repeats.is_repeat(decision, now)) {
            return Ok(record);
        }
        self.ports.records.record_decision(&record).await.map_err(unrecorded)?;
        self.count(&record);
        Ok(record)
    }

    /// Acts on a decision: stores it as pending first, then, only while this instance still
    /// leads, runs `write` (given the decision's id), then rewrites it as applied. When either
    /// refuses, the stored decision is rewritten as refused (or failed, when a store was down)
    /// with the reason. A decision is never stored as applied before its write is done: a
    /// controller killed in between leaves it pending.
    pub(super) async fn apply_fenced<F>(
        &self,
        site_id: Uuid,
        decision: &Decision,
        mode: FeatureState,
        lease: &Lease,
        write: impl FnOnce(Uuid) -> F,
    ) -> Result<DecisionRecord, Skip>
    where
        F: std::future::Future<Output = Result<(), WriteError>>,
    {
        let record = self.decision_record(site_id, decision, mode, Outcome::Pending, "", lease);
        self.ports.records.record_decision(&record).await.map_err(unrecorded)?;
        if let Err(why) = self.still_leads().await {
            return Ok(self.rewrite(record, Outcome::Refused, why).await);
        }
        match write(record.id).await {
            Ok(()) => Ok(self.rewrite(record, Outcome::Applied, String::new()).await),
            Err(err) => Ok(self.rewrite(record, outcome_of(&err), err.to_string()).await),
        }
    }

    fn count(&self, record: &DecisionRecord) {
        self.telemetry.decision(record.decision.feature.as_str(), record.mode.as_str(), record.outcome.as_str());
        let prefix = if record.outcome == Outcome::Dry { "DRY-RUN: " } else { "" };
        tracing::info!(
            decision_id = %record.id,
            site = %self.settings.site,
            feature = %record.decision.feature,
            mode = record.mode.as_str(),
            outcome = record.outcome.as_str(),
            detail = %Untrusted(&record.detail),
            "{prefix}{}",
            Untrusted(&record.decision.summary)
        );
    }

    async fn rewrite(&self, mut record: DecisionRecord, outcome: Outcome, detail: String) -> DecisionRecord {
        record.outcome = outcome;
        record.detail = detail;
        if let Err(err) = self.ports.records.record_decision(&record).await {
            tracing::error!(decision_id = %record.id, error = %Untrusted(&err), "cannot update the decision's outcome");
        }
        self.count(&record);
        record
    }

    /// Applies one decision in its mode. Writes happen only after the decision is stored and
    /// only while this instance still leads.
    pub(super) async fn execute(
        &self,
        snap: &Snapshot,
        decision: &Decision,
        mode: FeatureState,
        lease: &Lease,
    ) -> Result<DecisionRecord, Skip> {
        let Some(action) = &decision.action else {
            return self.record(snap.site_id, decision, mode, Outcome::NoAction, "", lease).await;
        };
        if mode != FeatureState::On {
            return self.record(snap.site_id, decision, mode, Outcome::Dry, "", lease).await;
        }
        self.apply_fenced(snap.site_id, decision, mode, lease, |decision_id| async move {
            match action {
                Action::SetOffline { backend } => {
                    let reason = host_failure::offline_reason(self.now(), &decision.summary);
                    let set = self.set_status(snap, *backend, BackendStatus::Offline, &reason).await;
                    if set.is_ok() {
                        self.telemetry.backend_taken_offline(decision.feature.as_str());
                    }
                    set
                }
                Action::SetOnline { backend } => self.set_status(snap, *backend, BackendStatus::Online, "").await,
                Action::MoveGroup { group, to, .. } => {
                    let request = MoveRequest {
                        site_id: snap.site_id,
                        group: group.clone(),
                        destination: *to,
                        initiator: Initiator::Controller(decision.feature),
                        decision_id: Some(decision_id),
                    };
                    let started = self.moves.start(request).await?;
                    if decision.feature == Feature::LoadBalance {
                        self.rt(|rt| rt.last_load_balance_move = Some(started.created_at));
                    }
                    Ok(())
                }
                Action::MoveUsers { .. } | Action::BalanceGroups { .. } => Ok(()),
                Action::SetAltBackend { group, alt } => self.set_group_alt(snap, decision, group, *alt).await,
                Action::SetReachability { site, reachable } => {
                    self.write_reachability(snap, decision, *site, *reachable).await
                }
                Action::SetSiteStatus { site, online } => self.set_site_status(*site, *online).await,
            }
        })
        .await
    }

    /// Changes a backend's status only if it is still what the planner saw (conditional write).
    async fn set_status(
        &self,
        snap: &Snapshot,
        backend: Uuid,
        status: BackendStatus,
        reason: &str,
    ) -> Result<(), WriteError> {
        let seen = snap
            .backends
            .iter()
            .find(|b| b.id == backend)
            .ok_or_else(|| WriteError::NotFound("the backend in the snapshot".into()))?;
        let reason: String = reason.chars().take(500).collect();
        let applied =
            self.ports.geodb.set_backend_status(snap.site_id, backend, &seen.status, &status, &reason).await?;
        if applied {
            super::end_force_moves(self.ports.geodb.as_ref(), snap.site_id, Some(backend), status.as_str()).await;
            // CE proxies cache routes: the new status must reach them now, not at expiry.
            self.moves.handoff().flush_proxy_caches().await;
            Ok(())
        } else {
            Err(WriteError::Refused(format!(
                "the status of {} changed meanwhile (conditional write refused)",
                seen.host
            )))
        }
    }

    /// Points a group's alternative at `alt`, if the group is still as the planner read it.
    async fn set_group_alt(
        &self,
        snap: &Snapshot,
        decision: &Decision,
        group: &str,
        alt: Uuid,
    ) -> Result<(), WriteError> {
        let DecisionInputs::AltRepair(inputs) = &decision.inputs else {
            return Err(WriteError::invalid("inputs", "an alternative's repair without its inputs"));
        };
        if self.ports.geodb.set_group_alt(snap.site_id, group, inputs.alt_before_id, alt).await? {
            Ok(())
        } else {
            Err(WriteError::Refused(format!("group {group} changed meanwhile (conditional write refused)")))
        }
    }
}
