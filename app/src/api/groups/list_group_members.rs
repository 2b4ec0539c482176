use leptos::prelude::*;

use crate::domain::{AppError, Page};

/// One page of a group's users, as the last census found them.
#[server(endpoint = "groups/members")]
pub async fn list_group_members(
    site_id: String,
    name: String,
    cursor: Option<String>,
) -> Result<Page<String>, AppError> {
    use crate::api::support::{caller, finish};
    use crate::domain::{validate, PageRequest};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = validate::cluster_name("name", &name)?;
            services.groups(&caller).members(site_id, &name, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
}
