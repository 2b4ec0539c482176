//! The loops' bodies: gather inputs, ask the planners, apply or record.

use std::{
    collections::{BTreeMap, HashMap},
};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{Controller, Skip};
use crate::{
    domain::{
        cluster::FeatureState,
        controller::{DecisionRecord, MoveRecord, MoveState, Outcome, PlanEntry, ProbeOutcome, SUPERVISION_FEATURE},
        geodb::{Backend, UserGroup},
        page::MAX_PAGE_SIZE,
        planning::{
            drain, group_balance, host_failure, load_balance,
            supervision::{self, Observation, RowView, Verdict},
            Action, BackendState, Decision, GroupState,
        },
        routing::stable_hash,
        PageRequest,
    },
    ports::{read_all, site_id_by_name, Lease, StoreError},
};

/// Identical dry or non-action decisions are recorded at most this often (spec c.10).
const REPEAT_AFTER: chrono::Duration = chrono::Duration::minutes(10);


/// One consistent read of the site for a pass.
pub(super) struct Snapshot {
    site_id: Uuid,
    backends: Vec<Backend>,
    groups: Vec<UserGroup>,
    group_states: Vec<GroupState>,
}

impl Snapshot {
    fn host(&self, id: Uuid) -> String {
        self.backends.iter().find(|b| b.id == id).map(|b| b.host.clone()).unwrap_or_else(|| id.to_string())
    }
}

fn unrecorded(e: StoreError) -> Skip {
    Skip::MissingData(format!("cannot record decisions: {e}"))
}

fn missing(what: &str) -> impl Fn(StoreError) -> Skip + '_ {
    move |e| Skip::MissingData(format!("cannot read {what}: {e}"))
}

/// Digits vary from pass to pass; the rest of a summary says whether a decision repeats.
fn repeat_key(decision: &Decision) -> String {
    let summary: String = decision.summary.chars().filter(|c| !c.is_ascii_digit() && *c != '.').collect();
    format!("{}|{:?}|{}", decision.feature, decision.action, summary)
}

impl Controller {
    /// The id of this controller's site (`CLUSTER_SITE`).
    async fn site_id(&self) -> Result<Uuid, Skip> {
        site_id_by_name(self.ports.geodb.as_ref(), &self.settings.site)
            .await
            .map_err(missing("the sites"))?
            .ok_or_else(|| Skip::MissingData(format!("site {} (CLUSTER_SITE) is not in the GeoDB", self.settings.site)))
    }

    pub(super) async fn snapshot(&self) -> Result<Snapshot, Skip> {
        let geodb = self.ports.geodb.as_ref();
        let site_id = self.site_id().await?;
        let backends = read_all(|page| geodb.list_backends(site_id, page)).await.map_err(missing("the backends"))?;
        let groups = read_all(|page| geodb.list_groups(site_id, page)).await.map_err(missing("the groups"))?;
        let census = self.ports.census.latest();
        let recent = self.ports.store.list_moves(site_id, PageRequest::first(MAX_PAGE_SIZE)).await.map_err(missing("recent moves"))?;
        let mut last_moved: HashMap<&str, DateTime<Utc>> = HashMap::new();
        for m in &recent.items {
            let at = m.finished_at.unwrap_or(m.created_at);
            let entry = last_moved.entry(m.group.as_str()).or_insert(at);
            *entry = (*entry).max(at);
        }
        let group_states = groups
            .iter()
            .map(|g| GroupState {
                name: g.name.clone(),
                backend_id: g.backend_id,
                moving: !g.moving.is_empty(),
                sticky_backend: g.sticky_backend != 0,
                last_moved: last_moved.get(g.name.as_str()).copied(),
                users: census.users_in(site_id, &g.name),
            })
            .collect();
        Ok(Snapshot { site_id, backends, groups, group_states })
    }

    fn backend_states(&self, snap: &Snapshot) -> Vec<BackendState> {
        self.rt(|rt| {
            snap.backends.iter().map(|b| BackendState::from_row(b, rt.probes.get(&b.host).is_some_and(|p| p.reachable))).collect()
        })
    }

    // ---- reachability (spec c.2) ----

    pub(super) async fn probe_backends(&self) -> Result<String, Skip> {
        self.held_lease().ok_or(Skip::NotLeader)?;
        self.probe_once().await
    }

    async fn probe_once(&self) -> Result<String, Skip> {
        let geodb = self.ports.geodb.as_ref();
        let site_id = self.site_id().await?;
        let backends = read_all(|page| geodb.list_backends(site_id, page)).await.map_err(missing("the backends"))?;
        let probes = backends.iter().map(|b| async move {
            let mut params = Map::new();
            params.insert("host".into(), Value::String(b.host.clone()));
            (b.host.clone(), self.ports.doveadm.run(&b.host, "clusterBackendStatus", params).await)
        });
        let results = futures::future::join_all(probes).await;
        let now = self.now();
        let mut unreachable = Vec::new();
        self.rt(|rt| {
            rt.probes.retain(|host, _| backends.iter().any(|b| &b.host == host));
            for (host, result) in results {
                let outcome = match result {
                    Ok(_) => ProbeOutcome::Answered,
                    Err(err) if err.is_name_resolution_failure() => ProbeOutcome::NameNotResolved(err.to_string()),
                    Err(err) => ProbeOutcome::Failed(err.to_string()),
                };
                let before = rt.probes.get(&host).cloned().unwrap_or_default();
                let after = before.after(outcome, now, self.settings.dns_failure_allowed);
                if before.reachable && !after.reachable {
                    tracing::warn!(host = %host, error = %after.last_error, "backend doveadm API unreachable");
                }
                if !after.reachable {
                    unreachable.push(host.clone());
                }
                self.telemetry.backend_reachable(&host, after.reachable);
                rt.probes.insert(host, after);
            }
            rt.probed = true;
        });
        Ok(if unreachable.is_empty() {
            format!("{} backends reachable", backends.len())
        } else {
            format!("unreachable: {}", unreachable.join(", "))
        })
    }

    // ---- recording and applying decisions ----

    fn decision_record(&self, site_id: Uuid, decision: &Decision, mode: FeatureState, outcome: Outcome, detail: &str, lease: &Lease) -> DecisionRecord {
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
    async fn record(&self, site_id: Uuid, decision: &Decision, mode: FeatureState, outcome: Outcome, detail: &str, lease: &Lease) -> Result<DecisionRecord, Skip> {
        let record = self.decision_record(site_id, decision, mode, outcome, detail, lease);
        let now = record.at;
        if matches!(outcome, Outcome::Dry | Outcome::NoAction) {
            let key = repeat_key(decision);
            let repeat = self.rt(|rt| rt.last_recorded.get(&decision.feature).is_some_and(|(k, at)| *k == key && now - *at < REPEAT_AFTER));
            if repeat {
                return Ok(record);
            }
            self.rt(|rt| rt.last_recorded.insert(decision.feature.clone(), (key, now)));
        }
        self.ports.store.record_decision(&record).await.map_err(unrecorded)?;
        self.count(&record);
        Ok(record)
    }

    /// Acts on a decision: stores it as applied first, then, only while this instance still
    /// leads, runs `write` (given the decision's id). When either refuses, the stored decision
    /// is rewritten as refused with the reason.
    async fn apply_fenced<F>(&self, site_id: Uuid, decision: &Decision, mode: FeatureState, lease: &Lease, write: impl FnOnce(Uuid) -> F) -> Result<DecisionRecord, Skip>
    where
        F: std::future::Future<Output = Result<(), String>>,
    {
        let record = self.decision_record(site_id, decision, mode, Outcome::Applied, "", lease);
        self.ports.store.record_decision(&record).await.map_err(unrecorded)?;
        if let Err(why) = self.still_leads().await {
            return Ok(self.rewrite(record, Outcome::Refused, why).await);
        }
        match write(record.id).await {
            Ok(()) => {
                self.count(&record);
                Ok(record)
            }
            Err(why) => Ok(self.rewrite(record, Outcome::Refused, why).await),
        }
    }

    fn count(&self, record: &DecisionRecord) {
        self.telemetry.decision(&record.decision.feature, record.mode.as_str(), record.outcome.as_str());
        let prefix = if record.outcome == Outcome::Dry { "DRY-RUN: " } else { "" };
        tracing::info!(
            decision_id = %record.id,
            site = %self.settings.site,
            feature = %record.decision.feature,
            mode = record.mode.as_str(),
            outcome = record.outcome.as_str(),
            detail = %record.detail,
            "{prefix}{}",
            record.decision.summary
        );
    }

    async fn rewrite(&self, mut record: DecisionRecord, outcome: Outcome, detail: String) -> DecisionRecord {
        record.outcome = outcome;
        record.detail = detail;
        if let Err(err) = self.ports.store.record_decision(&record).await {
            tracing::error!(decision_id = %record.id, error = %err, "cannot update the decision's outcome");
        }
        self.count(&record);
        record
    }

    /// Applies one decision in its mode. Writes happen only after the decision is stored and
    /// only while this instance still leads.
    async fn execute(&self, snap: &Snapshot, decision: &Decision, mode: FeatureState, lease: &Lease) -> Result<DecisionRecord, Skip> {
        let Some(action) = &decision.action else {
            return self.record(snap.site_id, decision, mode, Outcome::NoAction, "", lease).await;
        };
        if mode != FeatureState::On {
            return self.record(snap.site_id, decision, mode, Outcome::Dry, "", lease).await;
        }
        self.apply_fenced(snap.site_id, decision, mode, lease, |decision_id| async move {
            match action {
                Action::SetOffline { backend } => {
                    self.set_status(snap, *backend, "offline", &host_failure::offline_reason(self.now(), &decision.summary)).await
                }
                Action::SetOnline { backend } => self.set_status(snap, *backend, "online", "").await,
                Action::MoveGroup { group, to, .. } => self.start_move(snap.site_id, group, *to, &decision.feature, decision_id).await,
                Action::MoveUsers { .. } => Ok(()),
            }
        })
        .await
    }

    /// Changes a backend's status only if it is still what the planner saw (conditional write).
    async fn set_status(&self, snap: &Snapshot, backend: Uuid, status: &str, reason: &str) -> Result<(), String> {
        let seen = snap.backends.iter().find(|b| b.id == backend).ok_or("the backend is not in the snapshot")?;
        let reason: String = reason.chars().take(500).collect();
        let applied = self
            .ports
            .geodb
            .set_backend_status(snap.site_id, backend, &seen.status, status, &reason)
            .await
            .map_err(|e| e.to_string())?;
        if applied {
            Ok(())
        } else {
            Err(format!("the status of {} changed meanwhile (conditional write refused)", seen.host))
        }
    }

    /// Starts a group move for `feature` with a conditional write and begins supervising it.
    async fn start_move(&self, site_id: Uuid, group: &str, destination: Uuid, feature: &str, decision_id: Uuid) -> Result<(), String> {
        let initiated_by = format!("controller:{feature}");
        let geodb = self.ports.geodb.as_ref();
        let row = geodb.get_group(site_id, group).await.map_err(|e| e.to_string())?.ok_or("no such group")?;
        let source = row.backend_id.ok_or("the group has no backend")?;
        if source == destination {
            return Err("the group is already on that backend".into());
        }
        let backends = read_all(|page| geodb.list_backends(site_id, page)).await.map_err(|e| e.to_string())?;
        let host = |id: Uuid| backends.iter().find(|b| b.id == id).map(|b| b.host.clone());
        let destination_host = host(destination).ok_or("no such destination backend in the site")?;
        let now = self.now();
        let users = self.ports.census.latest().users_in(site_id, group);
        let token = Uuid::new_v4().to_string();
        let record = MoveRecord {
            source: Some(source),
            source_host: host(source).unwrap_or_default(),
            destination,
            destination_host: destination_host.clone(),
            initiated_by: initiated_by.clone(),
            decision_id: Some(decision_id),
            ..MoveRecord::initiated(site_id, group, &token, users, now)
        };
        let id = record.id;
        if !geodb.start_group_move(site_id, group, destination, &token).await.map_err(|e| e.to_string())? {
            return Err("not started: the group is already moving (conditional write refused)".into());
        }
        if let Err(err) = self.ports.store.put_move(&record).await {
            tracing::error!(move_id = %id, error = %err, "move started but not recorded; the next pass will adopt it");
        }
        for (backend, from) in [(source, true), (destination, false)] {
            if let Ok(Some(mut b)) = geodb.get_backend(site_id, backend).await {
                if from {
                    b.last_moved_from = now.to_rfc3339();
                } else {
                    b.last_moved_to = now.to_rfc3339();
                }
                let _ = geodb.put_backend(&b).await;
            }
        }
        // The access on the source starts the move; when it fails, the start timeout forces it.
        let mut params = Map::new();
        params.insert("group".into(), Value::String(group.to_string()));
        if let Err(err) = self.ports.doveadm.run(&record.source_host, "clusterGroupAccess", params).await {
            tracing::warn!(move_id = %id, group = %group, error = %err, "could not kick off the move on its source");
        }
        if feature == "load_balance" {
            self.rt(|rt| rt.last_load_balance_move = Some(now));
        }
        self.telemetry.move_started(feature);
        tracing::info!(move_id = %id, group = %group, source = %record.source_host, destination = %destination_host, %initiated_by, "group move started");
        Ok(())
    }

    // ---- host failure, drain and load balancing (spec c.3, c.5, c.7) ----

    /// Registers moves someone else started (doveadm, another tool) so they are supervised too.
    async fn adopt_moves(&self, snap: &Snapshot) -> Result<(), Skip> {
        let active = self.ports.store.list_active_moves(snap.site_id).await.map_err(missing("the active moves"))?;
        let now = self.now();
        for g in snap.groups.iter().filter(|g| !g.moving.is_empty()) {
            if active.iter().any(|m| m.group == g.name && m.moving_token == g.moving) {
                continue;
            }
            let Some(destination) = g.alt_backend_id else { continue };
            let users = self.ports.census.latest().users_in(snap.site_id, &g.name);
            let record = MoveRecord {
                source: g.backend_id,
                source_host: g.backend_id.map(|b| snap.host(b)).unwrap_or_default(),
                destination,
                destination_host: snap.host(destination),
                initiated_by: match g.moving.strip_prefix("controller:").and_then(|rest| rest.split(':').next()) {
                    Some(operator) => format!("operator:{operator}"),
                    None => "external".into(),
                },
                ..MoveRecord::initiated(snap.site_id, &g.name, &g.moving, users, now)
            };
            self.ports.store.put_move(&record).await.map_err(|e| Skip::MissingData(format!("cannot record moves: {e}")))?;
            tracing::info!(move_id = %record.id, group = %g.name, "supervising a move started outside the controller");
        }
        Ok(())
    }

    /// Plans host failure, drain and load balancing on one snapshot. Returns the decisions
    /// per feature and, for features that could not plan, why.
    async fn plan_pass(&self, snap: &Snapshot, modes: &BTreeMap<&'static str, FeatureState>) -> (Vec<Decision>, Vec<String>) {
        let now = self.now();
        let states = self.backend_states(snap);
        let mut decisions = Vec::new();
        let mut problems = Vec::new();
        let on = |f: &str| modes.get(f).is_some_and(|m| *m != FeatureState::Off);
        if on("host_failure") {
            match self.ports.metrics.host_traffic(self.settings.host_failure.window).await {
                Ok(traffic) if traffic.is_empty() => problems.push("host_failure: the metrics show no proxy traffic at all".into()),
                Ok(traffic) => decisions.extend(host_failure::plan(&states, &snap.group_states, &traffic, now, &self.settings.host_failure)),
                Err(err) => problems.push(format!("host_failure: {err}")),
            }
        }
        if on("evacuation") {
            decisions.extend(drain::plan(&states, &snap.group_states, now));
        }
        if on("load_balance") {
            match self.ports.metrics.host_scores(&self.settings.site, self.settings.score_window).await {
                Ok(scores) if scores.is_empty() => problems.push("load_balance: the metrics have no load scores".into()),
                Ok(scores) => {
                    let last = self.last_load_balance_move(snap.site_id).await;
                    decisions.push(load_balance::plan(&states, &snap.group_states, &scores, last, now, &self.settings.load_balance));
                }
                Err(err) => problems.push(format!("load_balance: {err}")),
            }
        }
        (decisions, problems)
    }

    async fn last_load_balance_move(&self, site_id: Uuid) -> Option<DateTime<Utc>> {
        if !self.rt(|rt| rt.last_load_balance_loaded) {
            if let Ok(page) = self.ports.store.list_moves(site_id, PageRequest::first(MAX_PAGE_SIZE)).await {
                let last = page.items.iter().filter(|m| m.initiated_by == "controller:load_balance").map(|m| m.created_at).max();
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
            let mode = modes.get(decision.feature.as_str()).copied().unwrap_or(FeatureState::Off);
            if decision.feature == "load_balance" && moved && decision.action.is_some() {
                let held = Decision { action: None, summary: format!("held back: another move started this pass ({})", decision.summary), ..decision.clone() };
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
            return Err(Skip::MissingData(problems.join("; ")));
        }
        Ok(if done.is_empty() { "nothing to do".into() } else { done.join("; ") })
    }

    fn record_feature_runs(&self, modes: &BTreeMap<&'static str, FeatureState>, decisions: &[Decision], problems: &[String]) {
        let now = self.now();
        for feature in ["host_failure", "evacuation", "load_balance"] {
            let mode = modes.get(feature).copied().unwrap_or(FeatureState::Off);
            let problem = problems.iter().find(|p| p.starts_with(&format!("{feature}:")));
            let (result, detail) = if mode == FeatureState::Off {
                ("skipped", "feature off".to_string())
            } else if let Some(p) = problem {
                ("failed", p.trim_start_matches(&format!("{feature}: ")).to_string())
            } else {
                let mine: Vec<&str> = decisions.iter().filter(|d| d.feature == feature).map(|d| d.summary.as_str()).collect();
                ("ran", if mine.is_empty() { "nothing to do".to_string() } else { format!("{}: {}", mode, mine.join("; ")) })
            };
            self.rt(|rt| rt.runs.insert(feature.to_string(), crate::domain::controller::LoopRun { at: now, seconds: 0.0, result: result.into(), detail }));
        }
    }

    pub(super) async fn evaluate_pass(&self) -> Result<Vec<Decision>, Skip> {
        let snap = self.snapshot().await?;
        if !self.rt(|rt| rt.probed) {
            self.probe_once().await?;
        }
        let modes = crate::domain::cluster::FEATURES.iter().map(|f| (*f, FeatureState::Dryrun)).collect();
        let (mut decisions, problems) = self.plan_pass(&snap, &modes).await;
        for problem in problems {
            decisions.push(Decision { feature: problem.split(':').next().unwrap_or("").into(), action: None, summary: problem.clone(), inputs: BTreeMap::new(), rejected: vec![] });
        }
        Ok(decisions)
    }

    // ---- move supervision (spec c.6) ----

    async fn observe(&self, m: &MoveRecord) -> Result<Observation, Skip> {
        let row = self.ports.geodb.get_group(m.site_id, &m.group).await.map_err(missing("a moving group"))?;
        let mut params = Map::new();
        params.insert("site".into(), Value::String(self.settings.site.clone()));
        params.insert("group".into(), Value::String(m.group.clone()));
        let progress = match self.ports.doveadm.run(&m.source_host, "clusterGroupStatus", params).await {
            Ok(rows) => rows.first().and_then(|r| {
                let number = |k: &str| r.get(k).and_then(|v| v.as_str().and_then(|s| s.parse::<u64>().ok()).or_else(|| v.as_u64()));
                Some((number("users_moved")?, number("users_total")?))
            }),
            Err(_) => None,
        };
        Ok(Observation { row: row.map(|g| RowView { backend_id: g.backend_id, moving: g.moving }), progress })
    }

    pub(super) async fn supervise_moves(&self) -> Result<String, Skip> {
        let lease = self.held_lease().ok_or(Skip::NotLeader)?;
        let site_id = self.site_id().await?;
        let modes = self.modes(site_id).await?;
        let mode = modes.get(SUPERVISION_FEATURE).copied().unwrap_or(FeatureState::Off);
        let active = self.ports.store.list_active_moves(site_id).await.map_err(missing("the active moves"))?;
        let now = self.now();
        let mut notes = Vec::new();
        for m in &active {
            let seen = self.observe(m).await?;
            match supervision::supervise(m, &seen, now, &self.settings.supervision) {
                Verdict::Running(next) => {
                    if next != *m {
                        self.save_move(&next).await?;
                    }
                }
                Verdict::Finished(mut next) => {
                    next.state = MoveState::Finished;
                    next.finished_at = Some(now);
                    next.eta = None;
                    self.end(&next, "finished").await?;
                    notes.push(format!("{} finished", m.group));
                }
                Verdict::Aborted(mut next, why) => {
                    next.state = MoveState::Aborted;
                    next.finished_at = Some(now);
                    next.note = why;
                    self.end(&next, "aborted").await?;
                    notes.push(format!("{} aborted", m.group));
                }
                Verdict::Force(next, why, inputs) => {
                    let decision = Decision {
                        feature: SUPERVISION_FEATURE.into(),
                        action: m.source.map(|from| Action::MoveGroup { group: m.group.clone(), from, to: m.destination }),
                        summary: format!("force {} to {}: {why}", m.group, m.destination_host),
                        inputs,
                        rejected: vec![],
                    };
                    if mode != FeatureState::On {
                        if mode == FeatureState::Dryrun {
                            self.record(site_id, &decision, mode, Outcome::Dry, "", &lease).await?;
                        }
                        if next != *m {
                            self.save_move(&next).await?;
                        }
                        continue;
                    }
                    let record = self.apply_fenced(site_id, &decision, mode, &lease, |_| self.force(&next, &why)).await?;
                    if record.outcome == Outcome::Applied {
                        notes.push(format!("{} forced", m.group));
                    }
                }
            }
        }
        let still = self.ports.store.list_active_moves(site_id).await.map(|a| a.len()).unwrap_or(0);
        self.telemetry.moves_active(i64::try_from(still).unwrap_or(i64::MAX));
        Ok(if notes.is_empty() { format!("{still} active moves") } else { format!("{still} active moves; {}", notes.join(", ")) })
    }

    async fn save_move(&self, m: &MoveRecord) -> Result<(), Skip> {
        self.ports.store.put_move(m).await.map_err(|e| Skip::MissingData(format!("cannot record moves: {e}")))
    }

    async fn end(&self, m: &MoveRecord, outcome: &str) -> Result<(), Skip> {
        self.save_move(m).await?;
        self.telemetry.move_ended(outcome);
        tracing::info!(move_id = %m.id, group = %m.group, outcome, note = %m.note, "group move ended");
        Ok(())
    }

    /// Sets the group's backend to the destination directly (spec c.6 forced move), only if
    /// the move is still the one we supervise.
    async fn force(&self, m: &MoveRecord, why: &str) -> Result<(), String> {
        self.end_conditionally(m, m.destination, m.source.filter(|s| *s != m.destination), MoveState::Forced, why).await
    }

    /// Ends a move with a conditional write (`IF moving = <its token>`), then records how.
    async fn end_conditionally(&self, m: &MoveRecord, backend: Uuid, alt: Option<Uuid>, state: MoveState, note: &str) -> Result<(), String> {
        let now = self.now();
        let applied =
            self.ports.geodb.end_group_move(m.site_id, &m.group, &m.moving_token, backend, alt, now).await.map_err(|e| e.to_string())?;
        if !applied {
            return Err("the group's move changed meanwhile (conditional write refused)".into());
        }
        let mut done = m.clone();
        done.state = state;
        done.finished_at = Some(now);
        done.eta = None;
        done.note = note.to_string();
        self.end(&done, state.as_str()).await.map_err(|e| e.to_string())
    }

    pub(super) async fn end_move_by_operator(&self, site_id: Uuid, move_id: Uuid, operator: &str, force: bool) -> Result<MoveRecord, String> {
        let active = self.ports.store.list_active_moves(site_id).await.map_err(|e| e.to_string())?;
        let m = active.into_iter().find(|m| m.id == move_id).ok_or("no such active move")?;
        if force {
            self.force(&m, &format!("forced by operator {operator}")).await?;
        } else {
            if m.state != MoveState::Initiated {
                return Err("the move has started: users are being moved. Force it instead, or let it finish".into());
            }
            let source = m.source.ok_or("the move has no source to go back to")?;
            self.end_conditionally(&m, source, Some(m.destination), MoveState::Cancelled, &format!("cancelled by operator {operator}")).await?;
        }
        let active = self.ports.store.list_active_moves(site_id).await.unwrap_or_default();
        let page = self.ports.store.list_moves(site_id, PageRequest::first(MAX_PAGE_SIZE)).await.map_err(|e| e.to_string())?;
        page.items.into_iter().chain(active).find(|x| x.id == move_id).ok_or_else(|| "the move was ended but cannot be read back".into())
    }

    // ---- group-size balancing (spec c.8) ----

    /// What both group-balance loops start from: the lease, a snapshot, and the feature's mode
    /// (never off).
    async fn group_balance_inputs(&self) -> Result<(Lease, Snapshot, FeatureState), Skip> {
        let lease = self.held_lease().ok_or(Skip::NotLeader)?;
        let snap = self.snapshot().await?;
        let modes = self.modes(snap.site_id).await?;
        match modes.get("group_balance").copied().unwrap_or(FeatureState::Off) {
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
        let summary = self.ports.plans.plan_summary(&self.settings.site).await.map_err(missing("the group balance plan"))?;
        if mode == FeatureState::On && summary.as_ref().is_some_and(|s| s.created_at.date_naive() == today) {
            self.rt(|rt| rt.last_plan_day = Some(today));
            return Ok("planned today already".into());
        }
        let census = self.ports.census.latest();
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
                    moving: !g.moving.is_empty(),
                    sticky_users: g.sticky_users != 0,
                })
            })
            .collect();
        let transfers = group_balance::plan(&sized, &self.settings.group_balance);
        let mut entries = Vec::new();
        for (transfer, _) in &transfers {
            let members = read_all(|page| self.ports.members.list_members(snap.site_id, &transfer.from_group, page))
                .await
                .map_err(missing("the group members"))?;
            let mut members: Vec<String> = members.into_iter().filter(|u| !u.starts_with("probe-")).collect();
            members.sort_by_key(|u| (stable_hash(u), u.clone()));
            entries.extend(members.into_iter().take(transfer.users as usize).map(|user| PlanEntry {
                user,
                from_group: transfer.from_group.clone(),
                to_group: transfer.to_group.clone(),
                backend_id: transfer.backend_id,
            }));
        }
        for (_, decision) in &transfers {
            if mode == FeatureState::On {
                self.record(snap.site_id, decision, mode, Outcome::Applied, "planned", &lease).await?;
            } else {
                self.record(snap.site_id, decision, mode, Outcome::Dry, "", &lease).await?;
            }
        }
        if mode == FeatureState::On {
            self.still_leads().await.map_err(Skip::MissingData)?;
            self.ports.plans.replace_plan(&self.settings.site, now, &entries).await.map_err(missing("the group balance plan store"))?;
        }
        self.rt(|rt| rt.last_plan_day = Some(today));
        Ok(format!("{mode}: {} transfers, {} user moves planned", transfers.len(), entries.len()))
    }

    pub(super) async fn group_balance_pass(&self) -> Result<String, Skip> {
        let (lease, snap, mode) = self.group_balance_inputs().await?;
        let cap = self.settings.group_balance_max_user_moves_per_pass as usize;
        if mode != FeatureState::On {
            let remaining = self.ports.plans.plan_summary(&self.settings.site).await.ok().flatten().map(|s| s.remaining).unwrap_or(0);
            return Ok(format!("dry: would move up to {} of {remaining} planned users", cap.min(remaining as usize)));
        }
        self.still_leads().await.map_err(Skip::MissingData)?;
        let entries = self.ports.plans.take_entries(&self.settings.site, cap).await.map_err(missing("the group balance plan"))?;
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
        let decision = Decision {
            feature: "group_balance".into(),
            action: None,
            summary: format!("pass: moved {moved} of {} planned users ({} no longer valid, {} failed)", entries.len(), skipped.len(), failed.len()),
            inputs: BTreeMap::from([("cap".to_string(), cap as f64), ("moved".to_string(), moved as f64)]),
            rejected: skipped.iter().map(|u| (u.clone(), "no longer in the planned group, or a group moved".to_string())).chain(failed.iter().map(|f| (f.clone(), "failed".to_string()))).collect(),
        };
        let outcome = if failed.is_empty() { Outcome::Applied } else { Outcome::Failed };
        self.record(snap.site_id, &decision, mode, outcome, &failed.join("; "), &lease).await?;
        Ok(decision.summary)
    }

    /// Reassigns one user if the plan still holds for it: `clusterUserMove` then `clusterUserAccess`.
    async fn move_user(&self, snap: &Snapshot, e: &PlanEntry) -> Result<bool, String> {
        let geodb = self.ports.geodb.as_ref();
        let Some(user) = geodb.get_user(&e.user).await.map_err(|x| x.to_string())? else { return Ok(false) };
        let on_backend = |name: &str| snap.groups.iter().any(|g| g.name == name && g.backend_id == Some(e.backend_id) && g.moving.is_empty());
        let valid = user.preferred_site_id == Some(snap.site_id)
            && user.group_name == e.from_group
            && user.moving_group_name.is_empty()
            && on_backend(&e.from_group)
            && on_backend(&e.to_group);
        if !valid {
            return Ok(false);
        }
        let host = snap.host(e.backend_id);
        let failover = if user.failover_site_group_name.is_empty() { e.to_group.clone() } else { user.failover_site_group_name.clone() };
        let params = json!({"user": e.user, "group": e.to_group, "failoverGroup": failover, "site": self.settings.site});
        let params = params.as_object().cloned().unwrap_or_default();
        self.ports.doveadm.run(&host, "clusterUserMove", params).await.map_err(|x| x.to_string())?;
        let mut access = Map::new();
        access.insert("user".into(), Value::String(e.user.clone()));
        self.ports.doveadm.run(&host, "clusterUserAccess", access).await.map_err(|x| x.to_string())?;
        Ok(true)
    }
}
