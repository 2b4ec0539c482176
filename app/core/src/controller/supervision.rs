//! Move supervision (docs/controller.md, "Move supervision"): progress of every active move from its source, and a forced
//! move when it does not start or finish in time.

use domain::doveadm::DoveadmCommand;

use super::{
    snapshot::{missing, mode_of},
    Controller, Skip,
};
use domain::{
    decisions::Outcome,
    edition::DovecotEdition,
    feature::{Feature, FeatureState},
    logtext::Untrusted,
    moves::{EndMove, MoveRecord, MoveState},
    planning::group_move_timeouts::{self, Observation, RowView, Verdict},
};

impl Controller {
    async fn observe(&self, m: &MoveRecord) -> Result<Observation, Skip> {
        let row = self.ports.geodb.get_group(m.site_id, &m.group).await.map_err(missing("a moving group"))?;
        let row = row.map(|g| RowView { backend_id: g.backend_id, moving: g.moving });
        if self.settings.dovecot.edition == DovecotEdition::Ce {
            return Ok(self.observe_handoff(m, row).await);
        }
        let status = DoveadmCommand::ClusterGroupStatus { site: self.settings.site.clone(), group: m.group.clone() };
        let progress = match self.ports.doveadm.run(&m.source_host, &status).await {
            Ok(rows) => rows.first().and_then(|r| {
                let number = |k: &str| {
                    r.get(k).and_then(|v| v.as_str().and_then(|s| s.parse::<u64>().ok()).or_else(|| v.as_u64()))
                };
                Some((number("users_moved")?, number("users_total")?))
            }),
            Err(_) => None,
        };
        Ok(Observation { row, progress, source_clear: false })
    }

    /// CE: the move runs while the source still has sessions of the group; those are kicked
    /// again (a client may have come back through a proxy that still had the old route). An
    /// unreachable source tells nothing: the timeouts decide.
    async fn observe_handoff(&self, m: &MoveRecord, row: Option<RowView>) -> Observation {
        let still_moving = row.as_ref().is_some_and(|r| r.moving == m.moving_token);
        if !still_moving {
            return Observation { row, progress: None, source_clear: false };
        }
        match self.moves.handoff().hand_off(&m.source_host, m.site_id, &m.group).await {
            Ok(remaining) => {
                let total = m.users_total.max(remaining as u64);
                let moved = total.saturating_sub(remaining as u64);
                Observation { row, progress: Some((moved, total.max(1))), source_clear: remaining == 0 }
            }
            Err(err) => {
                tracing::warn!(move_id = %m.id, error = %Untrusted(&err), "cannot see the group's sessions on the source");
                Observation { row, progress: None, source_clear: false }
            }
        }
    }

    pub(super) async fn supervise_moves(&self) -> Result<String, Skip> {
        let lease = self.held_lease().ok_or(Skip::NotLeader)?;
        let site_id = self.site_id().await?;
        let mode = mode_of(&self.modes(site_id).await?, Feature::GroupMoveTimeouts);
        let active = self.ports.records.list_active_moves(site_id).await.map_err(missing("the active moves"))?;
        let now = self.now();
        let mut notes = Vec::new();
        for m in &active {
            let seen = self.observe(m).await?;
            match group_move_timeouts::supervise(m, &seen, now, &self.settings.supervision) {
                Verdict::Running(next) => {
                    if next != *m {
                        self.save_move(&next).await?;
                    }
                }
                Verdict::Finished(mut next) => {
                    next.state = MoveState::Finished;
                    next.finished_at = Some(now);
                    next.eta = None;
                    self.moves.record_end(&next).await.map_err(missing_record)?;
                    notes.push(format!("{} finished", m.group));
                }
                Verdict::Complete(next) => {
                    let note = "no session of the group is left on its source";
                    match self.moves.end(&next, EndMove::Complete, note).await {
                        Ok(_) => notes.push(format!("{} finished", m.group)),
                        Err(err) => {
                            tracing::warn!(move_id = %m.id, error = %Untrusted(&err), "could not end the handed-off move")
                        }
                    }
                }
                Verdict::Aborted(mut next, why) => {
                    next.state = MoveState::Aborted;
                    next.finished_at = Some(now);
                    next.note = why;
                    self.moves.record_end(&next).await.map_err(missing_record)?;
                    notes.push(format!("{} aborted", m.group));
                }
                Verdict::Force(next, reason, why, inputs) => {
                    let decision = group_move_timeouts::force_decision(m, reason, &why, inputs);
                    if mode != FeatureState::On {
                        if mode == FeatureState::Dryrun {
                            self.record(site_id, &decision, mode, Outcome::Dry, "", &lease).await?;
                        }
                        if next != *m {
                            self.save_move(&next).await?;
                        }
                        continue;
                    }
                    let force = |_| async { self.moves.end(&next, EndMove::Force, &why).await.map(|_| ()) };
                    let record = self.apply_fenced(site_id, &decision, mode, &lease, force).await?;
                    if record.outcome == Outcome::Applied {
                        notes.push(format!("{} forced", m.group));
                    }
                }
            }
        }
        let still = self.ports.records.list_active_moves(site_id).await.map(|a| a.len()).unwrap_or(0);
        self.telemetry.moves_active(i64::try_from(still).unwrap_or(i64::MAX));
        Ok(if notes.is_empty() {
            format!("{still} active moves")
        } else {
            format!("{still} active moves; {}", notes.join(", "))
        })
    }

    /// Saves a running move's progress, unless it ended meanwhile (an operator forced or
    /// cancelled it): an ended move is never brought back.
    async fn save_move(&self, m: &MoveRecord) -> Result<(), Skip> {
        if !self.moves.save_record(m).await.map_err(missing_record)? {
            tracing::info!(move_id = %m.id, group = %Untrusted(&m.group), "the move ended meanwhile; its progress is not saved");
        }
        Ok(())
    }
}

fn missing_record(e: crate::ports::StoreError) -> Skip {
    Skip::MissingData(format!("cannot record moves: {e}"))
}
