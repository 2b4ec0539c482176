use leptos::prelude::*;

use crate::domain::cluster::UserDetail;
use crate::domain::AppError;

/// A user's row and resolved route.
#[server(endpoint = "users/lookup")]
pub async fn lookup_user(username: String) -> Result<UserDetail, AppError> {
    use crate::server_fns::support::{caller, finish};
    use crate::services::parse_mail_user;

    finish(
        async {
            let (caller, services) = caller().await?;
            let username = parse_mail_user(&username)?;
            services.users(&caller).lookup(&username).await
        }
        .await,
    )
}
