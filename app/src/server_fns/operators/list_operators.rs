use leptos::prelude::*;

use crate::domain::{operator::OperatorSummary, AppError, Page};

/// One page of operator accounts (admin).
#[server(endpoint = "operators/list")]
pub async fn list_operators(cursor: Option<String>) -> Result<Page<OperatorSummary>, AppError> {
    use crate::domain::PageRequest;
    use crate::server_fns::support::{caller, finish};

    finish(
        async {
            let (caller, services) = caller().await?;
            services.operator_admin(&caller)?.list(PageRequest::after(cursor, 100)).await
        }
        .await,
    )
}
