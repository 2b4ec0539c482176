use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::cluster::GroupDetail;

/// A group with its backends, sites and possible move destinations.
#[server(endpoint = "groups/get")]
pub async fn get_group(site_id: String, name: String) -> Result<GroupDetail, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{validate, GroupName};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = name.parse::<GroupName>().map_err(|bad| bad.on("name"))?;
            services.groups(&caller).detail(site_id, name.as_str()).await
        }
        .await,
    )
    .await
}
