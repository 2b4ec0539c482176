use leptos::prelude::*;

use crate::domain::AppError;

/// Creates an operator account (admin).
#[server(endpoint = "operators/add")]
pub async fn add_operator(username: String, role: String, password: String) -> Result<(), AppError> {
    use crate::domain::logtext::Untrusted;
    use crate::domain::Role;
    use crate::server_fns::support::{caller, finish};

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
}
