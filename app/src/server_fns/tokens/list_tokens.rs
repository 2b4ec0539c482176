use leptos::prelude::*;

use crate::domain::{token::TokensView, AppError};

/// The caller's API tokens (an admin's: everyone's), and a token just created, shown once.
#[server(endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<TokensView, AppError> {
    use crate::domain::{token::NewToken, Role};
    use crate::server_fns::support::{caller, finish, session};

    finish(
        async {
            let (caller, services) = caller().await?;
            let tokens = services.api_tokens(&caller)?.list().await?;
            let session = session().await?;
            let store_err = |e: tower_sessions::session::Error| AppError::Unavailable(format!("session store: {e}"));
            let created = session.remove::<NewToken>(super::SESSION_NEW_TOKEN).await.map_err(store_err)?;
            Ok(TokensView { tokens, created, admin: caller.role() >= Role::Admin, me: caller.username().to_string() })
        }
        .await,
    )
}
