use leptos::prelude::*;

use crate::domain::AppError;

/// Removes a tag that no site uses (admin).
#[server(endpoint = "tags/remove")]
pub async fn remove_tag(id: String) -> Result<(), AppError> {
    use crate::domain::logtext::Untrusted;
    use crate::domain::validate;
    use crate::server_fns::support::{caller, finish};

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
}
