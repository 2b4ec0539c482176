use leptos::prelude::*;

use crate::server_fns::UiError;

/// Revokes an API token for good (one's own; an admin: anyone's).
#[server(endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let id = validate::uuid("id", &id)?;
            services.api_tokens(&caller)?.revoke(id).await?;
            leptos_axum::redirect("/tokens");
            Ok(())
        }
        .await,
    )
    .await
}
