use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::token::NewToken;

/// Creates an API token (operators for themselves, admins for anyone) and answers it, with its
/// text: the only time that is shown. A form posted without JavaScript is answered with a
/// redirect, so the token then waits in the session until the tokens page shows it, once: the
/// text never travels in a URL.
#[server(endpoint = "tokens/create")]
pub async fn create_token(
    name: String,
    role: String,
    days: String,
    owner: Option<String>,
) -> Result<Option<NewToken>, UiError> {
    use crate::server_fns::support::{caller, finish, plain_form_post, session};
    use domain::{logtext::Untrusted, Role};

    finish(
        async {
            let (caller, services) = caller().await?;
            let tokens = services.api_tokens(&caller)?;
            let role: Role = role.parse()?;
            let days = match days.trim() {
                "" => None,
                raw => Some(raw.parse::<u32>().map_err(|_| domain::AppError::invalid("days", "a whole number of days"))?),
            };
            let created = tokens.create(owner.as_deref(), role, &name, days).await?;
            tracing::info!(operator = %Untrusted(caller.username()), token = %created.token.id, owner = %Untrusted(&created.token.owner), "API token created");
            if !plain_form_post() {
                return Ok(Some(created));
            }
            let session = session().await?;
            session
                .insert(super::SESSION_NEW_TOKEN, &created)
                .await
                .map_err(|e| domain::AppError::Unavailable(format!("session store: {e}")))?;
            leptos_axum::redirect("/tokens");
            Ok(None)
        }
        .await,
    )
    .await
}
