use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{Page, Tag};

/// One page of tags.
#[server(endpoint = "tags/list")]
pub async fn list_tags(cursor: Option<String>) -> Result<Page<Tag>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::PageRequest;

    finish(
        async {
            let (caller, services) = caller().await?;
            services.topology(&caller).list_tags(PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
