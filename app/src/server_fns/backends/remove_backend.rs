use leptos::prelude::*;

use crate::server_fns::UiError;

/// Removes a backend; refused while it serves groups unless forced (admin).
#[server(endpoint = "backends/remove")]
pub async fn remove_backend(site_id: String, id: String, force: Option<String>) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.backend_admin(&caller)?;
            let (site_id, id) = (validate::uuid("site_id", &site_id)?, validate::uuid("id", &id)?);
            let removed = admin.remove(site_id, id, force.is_some_and(|f| !f.is_empty())).await?;
            tracing::info!(operator = %Untrusted(caller.username()), backend = %Untrusted(&removed.host), "backend removed");
            leptos_axum::redirect(&format!("/sites/{site_id}/backends"));
            Ok(())
        }
        .await,
    )
    .await
}
