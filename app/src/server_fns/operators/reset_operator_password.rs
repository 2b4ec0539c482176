use leptos::prelude::*;

use crate::domain::AppError;

/// Sets a new password for an operator (admin).
#[server(endpoint = "operators/reset_password")]
pub async fn reset_operator_password(username: String, password: String) -> Result<(), AppError> {
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
                    .map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
            }
            tracing::info!(operator = %crate::domain::logtext::Untrusted(caller.username()), target = %crate::domain::logtext::Untrusted(&username), "operator password reset");
            leptos_axum::redirect("/operators");
            Ok(())
        }
        .await,
    )
}
