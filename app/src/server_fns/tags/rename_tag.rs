use leptos::prelude::*;

use crate::server_fns::UiError;

/// Renames a tag (admin). Sites keep pointing at it by id.
#[server(endpoint = "tags/rename")]
pub async fn rename_tag(id: String, tag: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::logtext::Untrusted;
    use domain::{validate, TagDraft};

    finish(
        async {
            let (caller, services) = caller().await?;
            let admin = services.topology_admin(&caller)?;
            let id = validate::uuid("id", &id)?;
            let tag = admin.rename_tag(id, TagDraft::parse(&tag)?).await?;
            tracing::info!(operator = %Untrusted(caller.username()), tag_id = %tag.id, tag = %Untrusted(&tag.tag), "tag renamed");
            leptos_axum::redirect("/tags");
            Ok(())
        }
        .await,
    )
    .await
}
