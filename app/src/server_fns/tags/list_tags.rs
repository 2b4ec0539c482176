use leptos::prelude::*;

use crate::domain::{AppError, Page, Tag};

/// One page of tags.
#[server(endpoint = "tags/list")]
pub async fn list_tags(cursor: Option<String>) -> Result<Page<Tag>, AppError> {
    use crate::domain::PageRequest;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.topology(&caller).list_tags(PageRequest::after(cursor, 100)).await
        }
        .await,
    )
}
