use leptos::prelude::*;

use crate::domain::AppError;

/// Cancels a move that has not started: the group stays on its source (operator, audited).
#[server(endpoint = "controller/cancel_move")]
pub async fn cancel_move(site_id: String, move_id: String) -> Result<(), AppError> {
    use crate::api::support::{caller, finish};
    use crate::domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.controller_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let move_id = validate::uuid("move_id", &move_id)?;
            let done = ops.cancel_move(site_id, move_id).await?;
            tracing::info!(operator = %caller.username(), %move_id, group = %done.group, "move cancelled");
            leptos_axum::redirect(&format!("/sites/{site_id}/moves"));
            Ok(())
        }
        .await,
    )
}
