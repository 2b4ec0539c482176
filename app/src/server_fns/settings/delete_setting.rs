use leptos::prelude::*;

use crate::server_fns::UiError;

/// Deletes a `cluster_settings` row (admin).
#[server(endpoint = "settings/delete")]
pub async fn delete_setting(
    section: String,
    site_id: String,
    backend_id: String,
    setting_name: String,
) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;
    use palomar_core::services::parse_setting_word;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.settings_admin(&caller)?;
            let section = parse_setting_word("section", &section)?;
            let site_id = validate::optional_uuid("site_id", &site_id)?.unwrap_or_default();
            let backend_id = validate::optional_uuid("backend_id", &backend_id)?.unwrap_or_default();
            let name = parse_setting_word("setting_name", &setting_name)?;
            admin.delete(&section, site_id, backend_id, &name).await?;
            tracing::info!(operator = %Untrusted(caller.username()), section = %Untrusted(&section), setting = %Untrusted(&name), "setting deleted");
            leptos_axum::redirect(&format!("/settings?section={section}"));
            Ok(())
        }
        .await,
    )
    .await
}
