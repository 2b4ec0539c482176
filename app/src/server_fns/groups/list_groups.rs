use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::cluster::GroupList;

/// One page of a site's groups, filtered by backend, name mask and moving state.
#[server(endpoint = "groups/list")]
pub async fn list_groups(
    site_id: String,
    backend: String,
    mask: String,
    moving: String,
    cursor: Option<String>,
) -> Result<GroupList, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::cluster::GroupFilter;
    use domain::validate;
    use domain::{page::DEFAULT_PAGE_SIZE, PageRequest};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let filter = GroupFilter::parse(&backend, &mask, &moving)?;
            services.groups(&caller).list(site_id, &filter, PageRequest::after(cursor, DEFAULT_PAGE_SIZE)).await
        }
        .await,
    )
    .await
}
