use leptos::prelude::*;

use crate::domain::{AppError, Tag};

/// Every tag, for the site form's tag picker.
#[server(endpoint = "tags/all")]
pub async fn all_tags() -> Result<Vec<Tag>, AppError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.topology(&caller).all_tags().await
        }
        .await,
    )
}
