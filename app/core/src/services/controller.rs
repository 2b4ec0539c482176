use std::sync::Arc;

use chrono::NaiveDate;
use uuid::Uuid;

use super::{fresh::GroupPages, Auditor};
use crate::controller::Controller;
use domain::audit::AuditAction;
use domain::{
    decisions::DecisionRecord,
    loops::ControllerStatus,
    moves::{EndMove, MoveRecord},
    planning::Decision,
    AppError, Page, PageRequest,
};

/// The controller's state, decisions and moves: any role.
pub struct ControllerReader {
    controller: Arc<Controller>,
}

impl ControllerReader {
    pub(crate) fn new(controller: Arc<Controller>) -> Self {
        Self { controller }
    }

    pub async fn status(&self) -> ControllerStatus {
        self.controller.status().await
    }

    pub async fn decisions(
        &self,
        site_id: Uuid,
        day: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<DecisionRecord>, AppError> {
        Ok(self.controller.records().list_decisions(site_id, day, page).await?)
    }

    /// Active moves and those ended in the last ten minutes (what the live views show).
    pub async fn live_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, AppError> {
        Ok(self.controller.live_moves(site_id).await?)
    }

    pub async fn moves(&self, site_id: Uuid, page: PageRequest) -> Result<Page<MoveRecord>, AppError> {
        Ok(self.controller.records().list_moves(site_id, page).await?)
    }
}

/// Forcing and cancelling moves and dry evaluations: operators. Audited like every change.
pub struct ControllerOps {
    controller: Arc<Controller>,
    audit: Auditor,
    group_pages: Arc<GroupPages>,
}

impl ControllerOps {
    pub(crate) fn new(controller: Arc<Controller>, audit: Auditor, group_pages: Arc<GroupPages>) -> Self {
        Self { controller, audit, group_pages }
    }

    /// What the controller would do now, with every feature dry. Writes nothing.
    pub async fn evaluate(&self) -> Result<Vec<Decision>, AppError> {
        self.controller.evaluate().await.map_err(AppError::Unavailable)
    }

    /// Forces or cancels an active move, through the same path supervision forces with.
    pub async fn end_move(&self, site_id: Uuid, move_id: Uuid, how: EndMove) -> Result<MoveRecord, AppError> {
        let (action, note) = match how {
            EndMove::Force => (AuditAction::MoveForce, format!("forced by operator {}", self.audit.operator())),
            EndMove::Cancel => (AuditAction::MoveCancel, format!("cancelled by operator {}", self.audit.operator())),
            EndMove::Complete => {
                return Err(AppError::invalid("how", "a move completes by itself; force it or cancel it"))
            }
        };
        let moves = self.controller.moves().clone();
        let ended = self
            .audit
            .apply(action, &move_id.to_string(), None::<&()>, None::<&()>, async move {
                let active = moves.active(site_id, move_id).await?;
                moves.end(&active, how, &note).await
            })
            .await;
        self.group_pages.forget(site_id);
        ended
    }
}
