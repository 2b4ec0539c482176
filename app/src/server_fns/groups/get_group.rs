use leptos::prelude::*;

use crate::domain::cluster::GroupDetail;
use crate::domain::AppError;

/// A group with its backends, sites and possible move destinations.
#[server(endpoint = "groups/get")]
pub async fn get_group(site_id: String, name: String) -> Result<GroupDetail, AppError> {
    use crate::domain::{validate, GroupName};
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = name.parse::<GroupName>().map_err(|bad| bad.on("name"))?;
            services.groups(&caller).detail(site_id, name.as_str()).await
        }
        .await,
    )
}
