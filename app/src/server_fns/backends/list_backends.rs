use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::cluster::BackendList;

/// One page of a site's backends with their counts.
#[server(endpoint = "backends/list")]
pub async fn list_backends(site_id: String, cursor: Option<String>) -> Result<BackendList, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;
    use domain::{page::DEFAULT_PAGE_SIZE, PageRequest};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            // The cursor is the previous page's last host.
            validate::bounded("cursor", cursor.as_deref().unwrap_or_default(), 0, 253)?;
            services.backends(&caller).list(site_id, PageRequest::after(cursor, DEFAULT_PAGE_SIZE)).await
        }
        .await,
    )
    .await
}
