use leptos::prelude::*;

use crate::server_fns::UiError;

/// Evacuates a backend: standby and load factor 0 (operator).
#[server(endpoint = "backends/evacuate")]
pub async fn evacuate_backend(site_id: String, id: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.backend_ops(&caller)?;
            let (site_id, id) = (validate::uuid("site_id", &site_id)?, validate::uuid("id", &id)?);
            let changed = ops.evacuate(site_id, id).await?;
            tracing::info!(operator = %Untrusted(caller.username()), backend = %Untrusted(&changed.host), "backend evacuated");
            leptos_axum::redirect(&format!("/sites/{site_id}/backends"));
            Ok(())
        }
        .await,
    )
    .await
}
