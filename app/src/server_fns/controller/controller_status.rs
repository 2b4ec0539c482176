use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::loops::ControllerStatus;

/// The controller of this server's site: who leads, modes, loop runs, reachability, problems.
#[server(endpoint = "controller/status")]
pub async fn get_controller_status() -> Result<ControllerStatus, UiError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            Ok(services.controller(&caller)?.status().await)
        }
        .await,
    )
    .await
}
