use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::dashboard::SiteDashboard;

/// A site's backends with their health, its active moves, leader, latest decisions and alerts.
#[server(endpoint = "dashboard/site")]
pub async fn get_site_dashboard(site_id: String) -> Result<SiteDashboard, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            services.dashboard(&caller).site(site_id).await
        }
        .await,
    )
    .await
}
