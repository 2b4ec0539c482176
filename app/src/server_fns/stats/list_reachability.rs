use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::geodb::Reachability;

/// The site reachability matrix rows and the sites' names.
#[server(endpoint = "stats/reachability")]
pub async fn list_reachability() -> Result<(Vec<(uuid::Uuid, String)>, Vec<Reachability>), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::PageRequest;

    finish(
        async {
            let (caller, services) = caller().await?;
            let sites = services.topology(&caller).list_sites(PageRequest::first(500)).await?;
            let names = sites.items.into_iter().map(|r| (r.site.id, r.site.name)).collect();
            Ok((names, services.stats(&caller).reachability().await?))
        }
        .await,
    )
}
