use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::dashboard::SiteSummary;

/// Every site with its backends, moves, leader and alerts.
#[server(endpoint = "dashboard/overview")]
pub async fn cluster_overview() -> Result<Vec<SiteSummary>, UiError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.dashboard(&caller).overview().await
        }
        .await,
    )
    .await
}
