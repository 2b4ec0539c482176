use leptos::prelude::*;

use crate::server_fns::UiError;

/// Changes an operator's role (admin; not one's own, never the last admin's).
#[server(endpoint = "operators/set_role")]
pub async fn set_operator_role(username: String, role: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::Role;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.operator_admin(&caller)?;
            let role: Role = role.parse()?;
            admin.set_role(&username, role).await?;
            tracing::info!(operator = %Untrusted(caller.username()), target = %Untrusted(&username), role = %role, "operator role changed");
            leptos_axum::redirect("/operators");
            Ok(())
        }
        .await,
    )
    .await
}
