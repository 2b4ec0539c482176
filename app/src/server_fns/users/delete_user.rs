use leptos::prelude::*;

use crate::server_fns::UiError;

/// Deletes a user's row (admin).
#[server(endpoint = "users/delete")]
pub async fn delete_user(username: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use palomar_core::services::parse_mail_user;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.user_admin(&caller)?;
            let username = parse_mail_user(&username)?;
            admin.delete(&username).await?;
            tracing::info!(operator = %Untrusted(caller.username()), user = %Untrusted(&username), "user deleted");
            leptos_axum::redirect("/users");
            Ok(())
        }
        .await,
    )
    .await
}
