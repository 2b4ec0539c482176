use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{Page, SiteRow};

/// One page of sites, with their tag names.
#[server(endpoint = "sites/list")]
pub async fn list_sites(cursor: Option<String>) -> Result<Page<SiteRow>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::PageRequest;

    finish(
        async {
            let (caller, services) = caller().await?;
            services.topology(&caller).list_sites(PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
