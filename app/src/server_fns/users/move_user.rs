use leptos::prelude::*;

use crate::server_fns::UiError;

/// Moves a user to a group, like `doveadm cluster user move` (operator).
#[server(endpoint = "users/move")]
pub async fn move_user(
    username: String,
    site_id: String,
    group: String,
    failover_group: String,
) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::{validate, GroupName};
    use palomar_core::services::parse_mail_user;

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.user_ops(&caller)?;
            let username = parse_mail_user(&username)?;
            let site_id = validate::optional_uuid("site_id", &site_id)?;
            let group = group.parse::<GroupName>().map_err(|bad| bad.on("group"))?;
            let failover_group = match failover_group.trim() {
                "" => None,
                raw => Some(raw.parse::<GroupName>().map_err(|bad| bad.on("failover_group"))?),
            };
            ops.move_user(&username, site_id, &group, failover_group.as_ref()).await?;
            tracing::info!(operator = %Untrusted(caller.username()), user = %Untrusted(&username), group = %Untrusted(&group), "user move started");
            leptos_axum::redirect(&format!("/users?username={}", crate::server_fns::support::percent_encode(&username)));
            Ok(())
        }
        .await,
    )
    .await
}
