use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{geodb::ProxyDestStat, Page};

/// One page of a site's `proxy_dest_stats`.
#[server(endpoint = "stats/proxy_dest")]
pub async fn list_proxy_dest_stats(site_id: String, cursor: Option<String>) -> Result<Page<ProxyDestStat>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;
    use domain::PageRequest;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            services.stats(&caller).proxy_dest_stats(site_id, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
