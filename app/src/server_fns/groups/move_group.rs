use leptos::prelude::*;

use crate::server_fns::UiError;

/// Starts moving a group to another backend (operator).
#[server(endpoint = "groups/move")]
pub async fn move_group(site_id: String, name: String, destination: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::{validate, GroupName};

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.group_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = name.parse::<GroupName>().map_err(|bad| bad.on("name"))?;
            let destination = validate::uuid("destination", &destination)?;
            ops.start_move(site_id, name.as_str(), destination).await?;
            tracing::info!(operator = %Untrusted(caller.username()), group = %Untrusted(name.as_str()), %destination, "group move started");
            leptos_axum::redirect(&format!("/sites/{site_id}/groups/{name}"));
            Ok(())
        }
        .await,
    )
    .await
}
