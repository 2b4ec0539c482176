use leptos::prelude::*;

use crate::domain::AppError;
use crate::domain::{geodb::ClusterSetting, Page};

/// One page of a `cluster_settings` section.
#[server(endpoint = "settings/list")]
pub async fn list_settings(section: String, cursor: Option<String>) -> Result<Page<ClusterSetting>, AppError> {
    use crate::domain::PageRequest;
    use crate::server_fns::support::{caller, finish};
    use crate::services::parse_setting_word;

    finish(
        async {
            let (caller, services) = caller().await?;
            let section = match section.trim() {
                "" => crate::domain::feature::FEATURE_SECTION.to_string(),
                raw => parse_setting_word("section", raw)?,
            };
            services.settings(&caller).section(&section, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
}
