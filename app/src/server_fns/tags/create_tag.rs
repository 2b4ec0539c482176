use leptos::prelude::*;

use crate::server_fns::UiError;

/// Creates a tag (admin).
#[server(endpoint = "tags/create")]
pub async fn create_tag(tag: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::TagDraft;

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.topology_admin(&caller)?;
            let tag = admin.create_tag(TagDraft::parse(&tag)?).await?;
            tracing::info!(operator = %Untrusted(caller.username()), tag_id = %tag.id, tag = %Untrusted(&tag.tag), "tag created");
            leptos_axum::redirect("/tags");
            Ok(())
        }
        .await,
    )
    .await
}
