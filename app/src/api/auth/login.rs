use leptos::prelude::*;

use crate::domain::AppError;

/// Logs an operator in: checks the password, rotates the session id, then goes to `next`.
/// The one server function that needs no session.
#[server(endpoint = "auth/login")]
pub async fn login(username: String, password: String, next: String) -> Result<(), AppError> {
    use crate::api::support::{finish, services, session, SESSION_OPERATOR};
    use crate::domain::logtext::Untrusted;
    use crate::domain::validate::local_path;

    finish(
        async {
            let services = services()?;
            let operator = services.accounts().verify_login(&username, &password).await.inspect_err(|_| {
                tracing::info!(username = %Untrusted(&username), "login refused");
            })?;
            let session = session().await?;
            // A new id at login: a session id planted before login is worthless afterwards.
            session.cycle_id().await.map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
            session
                .insert(SESSION_OPERATOR, &operator.username)
                .await
                .map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
            tracing::info!(username = %Untrusted(&operator.username), role = %operator.role, "operator logged in");
            leptos_axum::redirect(&local_path(&next).unwrap_or_else(|| "/".into()));
            Ok(())
        }
        .await,
    )
}
