use leptos::prelude::*;

use crate::server_fns::UiError;

/// Adds a backend to a site, in standby (admin).
#[server(endpoint = "backends/add")]
pub async fn add_backend(site_id: String, host: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;
    use domain::BackendHost;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.backend_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let host = host.parse::<BackendHost>().map_err(|bad| bad.on("host"))?;
            let added = admin.add(site_id, host).await?;
            tracing::info!(operator = %Untrusted(caller.username()), backend = %Untrusted(&added.host), "backend added");
            leptos_axum::redirect(&format!("/sites/{site_id}/backends"));
            Ok(())
        }
        .await,
    )
    .await
}
