use leptos::prelude::*;

use crate::server_fns::UiError;

/// Changes a site's name, tag, load balancer and status (admin), only if the site is still at
/// the `version` the form showed (`domain::version::of_site`).
#[server(endpoint = "sites/update")]
pub async fn update_site(
    id: String,
    name: String,
    tag: String,
    load_balancer: String,
    status: String,
    version: Option<String>,
) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::{validate, SiteDraft};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.topology_admin(&caller)?;
            let id = validate::uuid("id", &id)?;
            let draft = SiteDraft::parse(&name, &tag, &load_balancer, &status)?;
            // The version the form showed: a save never overwrites a change made since. A script
            // that showed nothing sends none, and its write is conditional on the row as read.
            let shown = version.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            let shown = shown.map(|version| domain::IfMatch::OneOf(vec![version]));
            let site = admin.update_site(id, draft, shown.as_ref()).await?;
            tracing::info!(operator = %Untrusted(caller.username()), site_id = %site.id, site = %Untrusted(&site.name), status = %Untrusted(&site.status), "site updated");
            leptos_axum::redirect("/sites");
            Ok(())
        }
        .await,
    )
    .await
}
