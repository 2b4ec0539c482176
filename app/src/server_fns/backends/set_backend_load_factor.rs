use leptos::prelude::*;

use crate::server_fns::UiError;

/// Sets a backend's load factor (operator).
#[server(endpoint = "backends/set_load_factor")]
pub async fn set_backend_load_factor(site_id: String, id: String, load_factor: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::{validate, LoadFactor};

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.backend_ops(&caller)?;
            let (site_id, id) = (validate::uuid("site_id", &site_id)?, validate::uuid("id", &id)?);
            let load_factor = load_factor.parse::<LoadFactor>().map_err(|bad| bad.on("load_factor"))?;
            let changed = ops.set_load_factor(site_id, id, load_factor).await?;
            tracing::info!(operator = %Untrusted(caller.username()), backend = %Untrusted(&changed.host), load_factor = changed.load_factor, "backend load factor set");
            leptos_axum::redirect(&format!("/sites/{site_id}/backends"));
            Ok(())
        }
        .await,
    )
    .await
}
