use leptos::prelude::*;

use crate::domain::cluster::GroupDetail;
use crate::domain::AppError;

/// A group with its backends, sites and possible move destinations.
#[server(endpoint = "groups/get")]
pub async fn get_group(site_id: String, name: String) -> Result<GroupDetail, AppError> {
    use crate::api::support::{caller, finish};
    use crate::domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = validate::cluster_name("name", &name)?;
            services.groups(&caller).detail(site_id, &name).await
        }
        .await,
    )
}
