use leptos::prelude::*;

use crate::domain::cluster::GroupList;
use crate::domain::AppError;

/// One page of a site's groups, filtered by backend, name mask and moving state.
#[server(endpoint = "groups/list")]
pub async fn list_groups(
    site_id: String,
    backend: String,
    mask: String,
    moving: String,
    cursor: Option<String>,
) -> Result<GroupList, AppError> {
    use crate::domain::cluster::GroupFilter;
    use crate::domain::validate;
    use crate::domain::{page::DEFAULT_PAGE_SIZE, PageRequest};
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let filter = GroupFilter::parse(&backend, &mask, &moving)?;
            services.groups(&caller).list(site_id, &filter, PageRequest::after(cursor, DEFAULT_PAGE_SIZE)).await
        }
        .await,
    )
}
