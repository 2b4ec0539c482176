use leptos::prelude::*;

use crate::domain::AppError;
use crate::domain::{geodb::ProxyDestStat, Page};

/// One page of a site's `proxy_dest_stats`.
#[server(endpoint = "stats/proxy_dest")]
pub async fn list_proxy_dest_stats(site_id: String, cursor: Option<String>) -> Result<Page<ProxyDestStat>, AppError> {
    use crate::domain::validate;
    use crate::domain::PageRequest;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            services.stats(&caller).proxy_dest_stats(site_id, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
}
