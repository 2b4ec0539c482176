use leptos::prelude::*;

use crate::server_fns::UiError;

/// Deletes a departed proxy's `proxy_dest_stats` rows (admin).
#[server(endpoint = "stats/prune_proxy")]
pub async fn prune_proxy_stats(site_id: String, proxy_host: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.stats_admin(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let proxy = validate::host_or_ip("proxy_host", &proxy_host)?;
            let destinations = admin.prune_proxy(site_id, &proxy).await?;
            tracing::info!(operator = %Untrusted(caller.username()), proxy = %Untrusted(&proxy), destinations, "proxy stats pruned");
            leptos_axum::redirect(&format!("/sites/{site_id}/stats"));
            Ok(())
        }
        .await,
    )
    .await
}
