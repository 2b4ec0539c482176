use leptos::prelude::*;

use crate::server_fns::UiError;

/// Adds a site (admin). On success, goes to the sites list.
#[server(endpoint = "sites/add")]
pub async fn add_site(name: String, tag: String, load_balancer: String, status: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::SiteDraft;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.topology_admin(&caller)?;
            let site = admin.add_site(SiteDraft::parse(&name, &tag, &load_balancer, &status)?).await?;
            tracing::info!(operator = %Untrusted(caller.username()), site_id = %site.id, site = %Untrusted(&site.name), "site added");
            leptos_axum::redirect("/sites");
            Ok(())
        }
        .await,
    )
    .await
}
