use leptos::prelude::*;

use crate::domain::AppError;

/// Sets a new password for an operator (admin).
#[server(endpoint = "operators/reset_password")]
pub async fn reset_operator_password(username: String, password: String) -> Result<(), AppError> {
    use crate::api::support::{caller, finish};
    use crate::domain::logtext::Untrusted;

    finish(
        async {
            let (caller, services) = caller().await?;
            services.operator_admin(&caller)?.reset_password(&username, &password).await?;
            tracing::info!(operator = %Untrusted(caller.username()), target = %Untrusted(&username), "operator password reset");
            leptos_axum::redirect("/operators");
            Ok(())
        }
        .await,
    )
}
