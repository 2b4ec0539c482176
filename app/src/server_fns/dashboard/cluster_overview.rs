use leptos::prelude::*;

use crate::domain::{dashboard::SiteSummary, AppError};

/// Every site with its backends, moves, leader and alerts.
#[server(endpoint = "dashboard/overview")]
pub async fn cluster_overview() -> Result<Vec<SiteSummary>, AppError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.dashboard(&caller).overview().await
        }
        .await,
    )
}
