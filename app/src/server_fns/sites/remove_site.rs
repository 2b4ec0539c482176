use leptos::prelude::*;

use crate::server_fns::UiError;

/// Removes a site (admin). `confirm_name` must repeat the site's name.
#[server(endpoint = "sites/remove")]
pub async fn remove_site(id: String, confirm_name: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;

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
    .await
}
