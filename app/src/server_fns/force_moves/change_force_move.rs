use leptos::prelude::*;

use crate::server_fns::UiError;

/// Changes the share of a running force-move or recover (admin).
#[server(endpoint = "force_moves/change")]
pub async fn change_force_move(site_id: String, kind: String, backend: String, percent: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{force_move::parse_percent, logtext::Untrusted, validate};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.force_move_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let key = super::key_of(&services, &caller, site_id, &kind, &backend).await?;
            let changed = admin.update(key, parse_percent(&percent)?).await?;
            tracing::info!(operator = %Untrusted(caller.username()), %site_id, kind = %changed.kind, percent = changed.percent, "force-move changed");
            leptos_axum::redirect(&format!("/sites/{site_id}/force-move"));
            Ok(())
        }
        .await,
    )
    .await
}
