use leptos::prelude::*;

use crate::domain::AppError;

/// Creates the missing groups default-1..N of a site (admin).
#[server(endpoint = "groups/init")]
pub async fn init_site_groups(site_id: String, count: String) -> Result<(), AppError> {
    use crate::domain::logtext::Untrusted;
    use crate::domain::validate;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.group_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let count: u32 =
                count.trim().parse().map_err(|_| AppError::invalid("count", "the group count is a whole number"))?;
            let created = admin.init_site(site_id, count).await?;
            tracing::info!(operator = %Untrusted(caller.username()), %site_id, created, "site groups initialised");
            leptos_axum::redirect(&format!("/sites/{site_id}/groups"));
            Ok(())
        }
        .await,
    )
}
