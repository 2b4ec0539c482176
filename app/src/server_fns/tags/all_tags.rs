use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::Tag;

/// Every tag, for the site form's tag picker.
#[server(endpoint = "tags/all")]
pub async fn all_tags() -> Result<Vec<Tag>, UiError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.topology(&caller).all_tags().await
        }
        .await,
    )
    .await
}
