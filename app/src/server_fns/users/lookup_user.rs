use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::cluster::UserDetail;

/// A user's row and resolved route.
#[server(endpoint = "users/lookup")]
pub async fn lookup_user(username: String) -> Result<UserDetail, UiError> {
    use crate::server_fns::support::{caller, finish};
    use palomar_core::services::parse_mail_user;

    finish(
        async {
            let (caller, services) = caller().await?;
            let username = parse_mail_user(&username)?;
            services.users(&caller).lookup(&username).await
        }
        .await,
    )
    .await
}
