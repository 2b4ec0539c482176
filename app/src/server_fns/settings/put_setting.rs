use leptos::prelude::*;

use crate::server_fns::UiError;

/// Writes a `cluster_settings` row (admin). Empty site or backend means all.
#[server(endpoint = "settings/put")]
pub async fn put_setting(
    section: String,
    site_id: String,
    backend_id: String,
    setting_name: String,
    setting_value: String,
) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::geodb::ClusterSetting;
    use domain::logtext::Untrusted;
    use domain::validate;
    use palomar_core::services::parse_setting_word;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.settings_admin(&caller)?;
            let setting = ClusterSetting {
                section: parse_setting_word("section", &section)?,
                site_id: validate::optional_uuid("site_id", &site_id)?.unwrap_or_default(),
                backend_id: validate::optional_uuid("backend_id", &backend_id)?.unwrap_or_default(),
                setting_name: parse_setting_word("setting_name", &setting_name)?,
                setting_value: {
                    validate::bounded("setting_value", setting_value.trim(), 0, 4096)?;
                    setting_value.trim().to_string()
                },
            };
            let section = setting.section.clone();
            admin.put(setting).await?;
            tracing::info!(operator = %Untrusted(caller.username()), section = %Untrusted(&section), "setting written");
            leptos_axum::redirect(&format!("/settings?section={section}"));
            Ok(())
        }
        .await,
    )
    .await
}
