use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::cluster::Progress;

/// How far the site's initialisation is, while it runs on this instance.
#[server(endpoint = "groups/init_progress")]
pub async fn init_progress(site_id: String) -> Result<Option<Progress>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;
    use palomar_core::services::site_init_key;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            Ok(services.operations(&caller).get(&site_init_key(site_id)))
        }
        .await,
    )
    .await
}
