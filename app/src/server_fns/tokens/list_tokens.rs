use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::token::TokensView;

/// The caller's API tokens (an admin's: everyone's), and a token just created, shown once.
#[server(endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<TokensView, UiError> {
    use crate::server_fns::support::{caller, finish, session};
    use domain::{token::NewToken, Role};

    finish(
        async {
            let (caller, services) = caller().await?;
            let tokens = services.api_tokens(&caller)?.list().await?;
            let session = session().await?;
            let store_err =
                |e: tower_sessions::session::Error| domain::AppError::Unavailable(format!("session store: {e}"));
            let created = session.remove::<NewToken>(super::SESSION_NEW_TOKEN).await.map_err(store_err)?;
            Ok(TokensView { tokens, created, admin: caller.role() >= Role::Admin, me: caller.username().to_string() })
        }
        .await,
    )
    .await
}
