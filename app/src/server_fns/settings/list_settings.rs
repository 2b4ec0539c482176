use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{geodb::ClusterSetting, Page};

/// One page of a `cluster_settings` section.
#[server(endpoint = "settings/list")]
pub async fn list_settings(section: String, cursor: Option<String>) -> Result<Page<ClusterSetting>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::PageRequest;
    use palomar_core::services::parse_setting_word;

    finish(
        async {
            let (caller, services) = caller().await?;
            let section = match section.trim() {
                "" => domain::feature::FEATURE_SECTION.to_string(),
                raw => parse_setting_word("section", raw)?,
            };
            services.settings(&caller).section(&section, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
