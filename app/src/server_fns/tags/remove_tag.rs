use leptos::prelude::*;

use crate::server_fns::UiError;

/// Removes a tag that no site uses (admin).
#[server(endpoint = "tags/remove")]
pub async fn remove_tag(id: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.topology_admin(&caller)?;
            let id = validate::uuid("id", &id)?;
            let tag = admin.remove_tag(id).await?;
            tracing::info!(operator = %Untrusted(caller.username()), tag_id = %tag.id, tag = %Untrusted(&tag.tag), "tag removed");
            leptos_axum::redirect("/tags");
            Ok(())
        }
        .await,
    )
    .await
}
