use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::Site;

/// One site by id.
#[server(endpoint = "sites/get")]
pub async fn get_site(id: String) -> Result<Site, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let id = validate::uuid("id", &id)?;
            services.topology(&caller).get_site(id).await
        }
        .await,
    )
    .await
}
