use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{geodb::BackendStat, Page};

/// One page of a site's `backend_stats`.
#[server(endpoint = "stats/backend")]
pub async fn list_backend_stats(site_id: String, cursor: Option<String>) -> Result<Page<BackendStat>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;
    use domain::PageRequest;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            services.stats(&caller).backend_stats(site_id, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
