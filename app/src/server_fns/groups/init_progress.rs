use leptos::prelude::*;

use crate::domain::{cluster::Progress, AppError};

/// How far the site's initialisation is, while it runs on this instance.
#[server(endpoint = "groups/init_progress")]
pub async fn init_progress(site_id: String) -> Result<Option<Progress>, AppError> {
    use crate::domain::validate;
    use crate::server_fns::support::{caller, finish};
    use crate::services::site_init_key;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            Ok(services.operations(&caller).get(&site_init_key(site_id)))
        }
        .await,
    )
}
