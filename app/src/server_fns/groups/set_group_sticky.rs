use leptos::prelude::*;

use crate::server_fns::UiError;

/// Sets a group's sticky-users and sticky-backend flags (operator).
#[server(endpoint = "groups/set_sticky")]
pub async fn set_group_sticky(
    site_id: String,
    name: String,
    sticky_users: Option<String>,
    sticky_backend: Option<String>,
) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::{validate, GroupName};

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.group_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = name.parse::<GroupName>().map_err(|bad| bad.on("name"))?;
            let on = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
            ops.set_sticky(site_id, name.as_str(), on(&sticky_users), on(&sticky_backend)).await?;
            tracing::info!(operator = %Untrusted(caller.username()), group = %Untrusted(name.as_str()), "group sticky flags set");
            leptos_axum::redirect(&format!("/sites/{site_id}/groups/{name}"));
            Ok(())
        }
        .await,
    )
}
