use std::sync::Arc;

use chrono::NaiveDate;
use uuid::Uuid;

use super::Auditor;
use crate::{
    controller::Controller,
    domain::{
        controller::{ControllerStatus, DecisionRecord, MoveRecord},
        planning::Decision,
        AppError, Page, PageRequest,
    },
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

    pub async fn decisions(&self, site_id: Uuid, day: NaiveDate, page: PageRequest) -> Result<Page<DecisionRecord>, AppError> {
        Ok(self.controller.store().list_decisions(site_id, day, page).await?)
    }

    /// Active moves and those ended in the last ten minutes (what the live views show).
    pub async fn live_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, AppError> {
        Ok(self.controller.live_moves(site_id).await?)
    }

    pub async fn moves(&self, site_id: Uuid, page: PageRequest) -> Result<Page<MoveRecord>, AppError> {
        Ok(self.controller.store().list_moves(site_id, page).await?)
    }
}

/// Forcing and cancelling moves and dry evaluations: operators. Audited like every change.
pub struct ControllerOps {
    controller: Arc<Controller>,
    audit: Auditor,
}

impl ControllerOps {
    pub(crate) fn new(controller: Arc<Controller>, audit: Auditor) -> Self {
        Self { controller, audit }
    }

    /// What the controller would do now, with every feature dry. Writes nothing.
    pub async fn evaluate(&self) -> Result<Vec<Decision>, AppError> {
        self.controller.evaluate().await.map_err(AppError::Unavailable)
    }

    pub async fn force_move(&self, site_id: Uuid, move_id: Uuid) -> Result<MoveRecord, AppError> {
        let operator = self.audit.operator().to_string();
        let controller = self.controller.clone();
        self.audit
            .apply("move.force", &move_id.to_string(), None::<&()>, None::<&()>, async move {
                controller.force_move(site_id, move_id, &operator).await.map_err(AppError::Conflict)
            })
            .await
    }

    pub async fn cancel_move(&self, site_id: Uuid, move_id: Uuid) -> Result<MoveRecord, AppError> {
        let operator = self.audit.operator().to_string();
        let controller = self.controller.clone();
        self.audit
            .apply("move.cancel", &move_id.to_string(), None::<&()>, None::<&()>, async move {
                controller.cancel_move(site_id, move_id, &operator).await.map_err(AppError::Conflict)
            })
            .await
    }
}
