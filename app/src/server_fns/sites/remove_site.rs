use leptos::prelude::*;

use crate::domain::AppError;

/// Removes a site (admin). `confirm_name` must repeat the site's name.
#[server(endpoint = "sites/remove")]
pub async fn remove_site(id: String, confirm_name: String) -> Result<(), AppError> {
    use crate::domain::logtext::Untrusted;
    use crate::domain::validate;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.topology_admin(&caller)?;
            let id = validate::uuid("id", &id)?;
            let site = admin.remove_site(id, &confirm_name).await?;
            tracing::info!(operator = %Untrusted(caller.username()), site_id = %site.id, site = %Untrusted(&site.name), "site removed");
            leptos_axum::redirect("/sites");
            Ok(())
        }
        .await,
    )
}
