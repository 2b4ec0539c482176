use leptos::prelude::*;

use crate::server_fns::UiError;

/// Sets a backend online, offline or standby (operator).
#[server(endpoint = "backends/set_status")]
pub async fn set_backend_status(site_id: String, id: String, status: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::geodb::BackendStatus;
    use domain::logtext::Untrusted;
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.backend_ops(&caller)?;
            let (site_id, id) = (validate::uuid("site_id", &site_id)?, validate::uuid("id", &id)?);
            let changed = ops.set_status(site_id, id, status.parse::<BackendStatus>()?).await?;
            tracing::info!(operator = %Untrusted(caller.username()), backend = %Untrusted(&changed.host), status = %Untrusted(&changed.status), "backend status set");
            leptos_axum::redirect(&format!("/sites/{site_id}/backends"));
            Ok(())
        }
        .await,
    )
    .await
}
