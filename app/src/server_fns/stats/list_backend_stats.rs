use leptos::prelude::*;

use crate::domain::AppError;
use crate::domain::{geodb::BackendStat, Page};

/// One page of a site's `backend_stats`.
#[server(endpoint = "stats/backend")]
pub async fn list_backend_stats(site_id: String, cursor: Option<String>) -> Result<Page<BackendStat>, AppError> {
    use crate::domain::validate;
    use crate::domain::PageRequest;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            services.stats(&caller).backend_stats(site_id, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
}
