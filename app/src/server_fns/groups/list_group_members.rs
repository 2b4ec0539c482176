use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::Page;

/// One page of a group's users, as the last census found them.
#[server(endpoint = "groups/members")]
pub async fn list_group_members(
    site_id: String,
    name: String,
    cursor: Option<String>,
) -> Result<Page<String>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{validate, GroupName, PageRequest};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = name.parse::<GroupName>().map_err(|bad| bad.on("name"))?;
            services.groups(&caller).members(site_id, name.as_str(), PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
