use leptos::prelude::*;

use crate::server_fns::UiError;

/// Creates the missing groups default-1..N of a site (admin).
#[server(endpoint = "groups/init")]
pub async fn init_site_groups(site_id: String, count: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.group_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let count: u32 = count
                .trim()
                .parse()
                .map_err(|_| domain::AppError::invalid("count", "the group count is a whole number"))?;
            let created = admin.init_site(site_id, count).await?;
            tracing::info!(operator = %Untrusted(caller.username()), %site_id, created, "site groups initialised");
            leptos_axum::redirect(&format!("/sites/{site_id}/groups"));
            Ok(())
        }
        .await,
    )
    .await
}
