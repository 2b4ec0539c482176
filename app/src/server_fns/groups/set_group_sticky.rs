use leptos::prelude::*;

use crate::server_fns::UiError;

/// Sets a group's sticky-users and sticky-backend flags (operator). The form says which values
/// it showed (`shown_*`): only a flag the operator changed is written, and only if the group
/// still holds the value shown, so a flag someone else set meanwhile stays.
#[server(endpoint = "groups/set_sticky")]
pub async fn set_group_sticky(
    site_id: String,
    name: String,
    shown_sticky_users: String,
    shown_sticky_backend: String,
    sticky_users: Option<String>,
    sticky_backend: Option<String>,
) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::geodb::{FlagWrite, StickyWrite};
    use domain::logtext::Untrusted;
    use domain::{validate, GroupName};

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.group_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let name = name.parse::<GroupName>().map_err(|bad| bad.on("name"))?;
            let changed = |field: &str, shown: &str, ticked: &Option<String>| {
                let seen = validate::shown_flag(field, shown)?;
                let wanted = ticked.as_deref().is_some_and(|v| !v.is_empty());
                Ok::<_, domain::AppError>((seen != wanted).then_some(FlagWrite { seen, wanted }))
            };
            let write = StickyWrite {
                sticky_users: changed("shown_sticky_users", &shown_sticky_users, &sticky_users)?,
                sticky_backend: changed("shown_sticky_backend", &shown_sticky_backend, &sticky_backend)?,
            };
            ops.set_sticky(site_id, name.as_str(), write).await?;
            tracing::info!(operator = %Untrusted(caller.username()), group = %Untrusted(name.as_str()), "group sticky flags set");
            leptos_axum::redirect(&format!("/sites/{site_id}/groups/{name}"));
            Ok(())
        }
        .await,
    )
    .await
}
