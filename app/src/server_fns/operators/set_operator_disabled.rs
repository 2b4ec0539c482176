use leptos::prelude::*;

use crate::server_fns::UiError;

/// Disables or enables an operator account (admin; not one's own, never the last admin).
#[server(endpoint = "operators/set_disabled")]
pub async fn set_operator_disabled(username: String, disabled: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.operator_admin(&caller)?;
            let disabled = match disabled.as_str() {
                "true" => true,
                "false" => false,
                other => return Err(domain::AppError::invalid("disabled", format!("expected true or false, got {:?}", Untrusted(other)))),
            };
            admin.set_disabled(&username, disabled).await?;
            tracing::info!(operator = %Untrusted(caller.username()), target = %Untrusted(&username), disabled, "operator account changed");
            leptos_axum::redirect("/operators");
            Ok(())
        }
        .await,
    )
    .await
}
