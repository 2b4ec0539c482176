use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::reachability::ReachabilityMatrix;

/// The site reachability matrix, with the time of each value.
#[server(endpoint = "stats/reachability")]
pub async fn list_reachability() -> Result<ReachabilityMatrix, UiError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.stats(&caller).reachability_matrix().await
        }
        .await,
    )
    .await
}
