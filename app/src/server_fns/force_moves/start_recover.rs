use leptos::prelude::*;

use crate::server_fns::UiError;

/// Starts bringing the users a force-move moved out of the site back (admin).
#[server(endpoint = "force_moves/recover")]
pub async fn start_recover(site_id: String, id: String, percent: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{force_move::ForceMoveDraft, logtext::Untrusted, validate};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.force_move_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let started = admin.recover_site(site_id, ForceMoveDraft::parse(&id, &percent)?).await?;
            tracing::info!(operator = %Untrusted(caller.username()), %site_id, id = %Untrusted(&started.id), percent = started.percent, "recover started");
            leptos_axum::redirect(&format!("/sites/{site_id}/force-move"));
            Ok(())
        }
        .await,
    )
    .await
}
