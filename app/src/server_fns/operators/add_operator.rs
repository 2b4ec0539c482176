use leptos::prelude::*;

use crate::server_fns::UiError;

/// Creates an operator account (admin).
#[server(endpoint = "operators/add")]
pub async fn add_operator(username: String, role: String, password: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::Role;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.operator_admin(&caller)?;
            let role: Role = role.parse()?;
            let added = admin.add(&username, role, &password).await?;
            tracing::info!(operator = %Untrusted(caller.username()), added = %Untrusted(&added.username), role = %added.role, "operator added");
            leptos_axum::redirect("/operators");
            Ok(())
        }
        .await,
    )
    .await
}
