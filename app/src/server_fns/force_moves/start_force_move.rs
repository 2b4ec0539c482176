use leptos::prelude::*;

use crate::server_fns::UiError;

/// Starts a site force-move, or a backend's when `backend` names one (admin). `destinations`:
/// site names, or backend hosts, separated by spaces or commas.
#[server(endpoint = "force_moves/start")]
pub async fn start_force_move(
    site_id: String,
    backend: String,
    id: String,
    percent: String,
    destinations: String,
) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{force_move::ForceMoveDraft, logtext::Untrusted, validate};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.force_move_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let draft = ForceMoveDraft::parse(&id, &percent)?;
            let destinations: Vec<String> =
                destinations.split([',', ' ']).filter(|d| !d.is_empty()).map(str::to_string).collect();
            let started = match backend.trim() {
                "" => admin.start_site(site_id, draft, &destinations).await?,
                host => {
                    let backend_id = services.backends(&caller).by_host(site_id, host).await?.backend.id;
                    admin.start_backend(site_id, backend_id, draft, &destinations).await?
                }
            };
            tracing::info!(operator = %Untrusted(caller.username()), %site_id, id = %Untrusted(&started.id), percent = started.percent, "force-move started");
            leptos_axum::redirect(&format!("/sites/{site_id}/force-move"));
            Ok(())
        }
        .await,
    )
    .await
}
