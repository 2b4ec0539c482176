use leptos::prelude::*;

use crate::server_fns::UiError;

/// Ends the session and goes back to the login page.
#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish, session};
    use domain::logtext::Untrusted;

    finish(
        async {
            let (caller, _) = caller().await?;
            session().await?.flush().await.map_err(|e| domain::AppError::Unavailable(format!("session store: {e}")))?;
            tracing::info!(username = %Untrusted(caller.username()), "operator logged out");
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
    .await
}
