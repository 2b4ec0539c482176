use leptos::prelude::*;

use crate::server_fns::UiError;

/// Stops a running force-move or recover (admin): nobody else moves; who moved stays.
#[server(endpoint = "force_moves/stop")]
pub async fn stop_force_move(site_id: String, kind: String, backend: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{logtext::Untrusted, validate};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.force_move_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let key = super::key_of(&services, &caller, site_id, &kind, &backend).await?;
            let stopped = admin.stop(key).await?;
            tracing::info!(operator = %Untrusted(caller.username()), %site_id, kind = %stopped.kind, "force-move stopped");
            leptos_axum::redirect(&format!("/sites/{site_id}/force-move"));
            Ok(())
        }
        .await,
    )
    .await
}
