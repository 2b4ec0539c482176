use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{operator::OperatorSummary, Page};

/// One page of operator accounts (admin).
#[server(endpoint = "operators/list")]
pub async fn list_operators(cursor: Option<String>) -> Result<Page<OperatorSummary>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::PageRequest;

    finish(
        async {
            let (caller, services) = caller().await?;
            services.operator_admin(&caller)?.list(PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
