use leptos::prelude::*;

use crate::domain::AppError;

/// Starts moving a group to another backend (operator).
#[server(endpoint = "groups/move")]
pub async fn move_group(site_id: String, name: String, destination: String) -> Result<(), AppError> {
    use crate::api::support::{caller, finish};
    use crate::domain::logtext::Untrusted;
    use crate::domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.group_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = validate::cluster_name("name", &name)?;
            let destination = validate::uuid("destination", &destination)?;
            ops.start_move(site_id, &name, destination).await?;
            tracing::info!(operator = %Untrusted(caller.username()), group = %Untrusted(&name), %destination, "group move started");
            leptos_axum::redirect(&format!("/sites/{site_id}/groups/{name}"));
            Ok(())
        }
        .await,
    )
}
