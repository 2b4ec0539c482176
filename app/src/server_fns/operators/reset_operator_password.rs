use leptos::prelude::*;

use crate::server_fns::UiError;

/// Sets a new password for an operator (admin).
#[server(endpoint = "operators/reset_password")]
pub async fn reset_operator_password(username: String, password: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish, session, SESSION_EPOCH};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.operator_admin(&caller)?.reset_password(&username, &password).await?;
            // The reset ended every session of the account; an admin resetting their own
            // password keeps this one.
            if username.trim() == caller.username() {
                let epoch = services.accounts().epoch(caller.username()).await?;
                session()
                    .await?
                    .insert(SESSION_EPOCH, epoch)
                    .await
                    .map_err(|e| domain::AppError::Unavailable(format!("session store: {e}")))?;
            }
            tracing::info!(operator = %domain::logtext::Untrusted(caller.username()), target = %domain::logtext::Untrusted(&username), "operator password reset");
            leptos_axum::redirect("/operators");
            Ok(())
        }
        .await,
    )
    .await
}
