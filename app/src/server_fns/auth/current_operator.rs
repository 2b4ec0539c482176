use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::operator::OperatorView;

/// Who is logged in, with which role; the layout uses it to show what the role may do.
#[server(endpoint = "auth/current_operator")]
pub async fn current_operator() -> Result<OperatorView, UiError> {
    use crate::server_fns::support::{caller, finish};

    finish(
        caller().await.map(|(caller, _)| OperatorView { username: caller.username().to_string(), role: caller.role() }),
    )
    .await
}
