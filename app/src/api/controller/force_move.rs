use leptos::prelude::*;

use crate::domain::AppError;

/// Forces an active move: the group's backend becomes the destination now (operator, audited).
#[server(endpoint = "controller/force_move")]
pub async fn force_move(site_id: String, move_id: String) -> Result<(), AppError> {
    use crate::api::support::{caller, finish};
    use crate::domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.controller_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let move_id = validate::uuid("move_id", &move_id)?;
            let done = ops.force_move(site_id, move_id).await?;
            tracing::info!(operator = %caller.username(), %move_id, group = %done.group, "move forced");
            leptos_axum::redirect(&format!("/sites/{site_id}/moves"));
            Ok(())
        }
        .await,
    )
}
