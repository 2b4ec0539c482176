use leptos::prelude::*;

use crate::domain::{dashboard::SiteDashboard, AppError};

/// A site's backends with their health, its active moves, leader, latest decisions and alerts.
#[server(endpoint = "dashboard/site")]
pub async fn get_site_dashboard(site_id: String) -> Result<SiteDashboard, AppError> {
    use crate::domain::validate;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            services.dashboard(&caller).site(site_id).await
        }
        .await,
    )
}
