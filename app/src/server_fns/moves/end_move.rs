use leptos::prelude::*;

use crate::server_fns::UiError;

/// Ends an active move now (operator, audited): `how` is `force` (the group's backend becomes
/// the destination) or `cancel` (only before users are being moved: it stays on its source).
#[server(endpoint = "controller/end_move")]
pub async fn end_group_move(site_id: String, move_id: String, how: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::{moves::EndMove, validate};

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.controller_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let move_id = validate::uuid("move_id", &move_id)?;
            let how: EndMove = how.parse()?;
            let done = ops.end_move(site_id, move_id, how).await?;
            tracing::info!(operator = %Untrusted(caller.username()), %move_id, group = %Untrusted(&done.group), how = how.as_str(), "move ended");
            leptos_axum::redirect(&format!("/sites/{site_id}/moves"));
            Ok(())
        }
        .await,
    )
    .await
}
