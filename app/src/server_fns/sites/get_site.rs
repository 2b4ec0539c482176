use leptos::prelude::*;

use crate::domain::{AppError, Site};

/// One site by id.
#[server(endpoint = "sites/get")]
pub async fn get_site(id: String) -> Result<Site, AppError> {
    use crate::domain::validate;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let id = validate::uuid("id", &id)?;
            services.topology(&caller).get_site(id).await
        }
        .await,
    )
}
