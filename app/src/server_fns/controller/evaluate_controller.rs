use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::planning::Decision;

/// What the controller would do now, every feature treated as dry; writes nothing (operator).
#[server(endpoint = "controller/evaluate")]
pub async fn evaluate_controller() -> Result<Vec<Decision>, UiError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.controller_ops(&caller)?.evaluate().await
        }
        .await,
    )
    .await
}
