use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{moves::MoveRecord, Page};

/// A site's live moves (active, or ended in the last ten minutes) and one page of all its
/// moves, newest first.
#[server(endpoint = "controller/moves")]
pub async fn list_moves(
    site_id: String,
    cursor: Option<String>,
) -> Result<(Vec<MoveRecord>, Page<MoveRecord>), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{validate, PageRequest};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let reader = services.controller(&caller)?;
            Ok((reader.live_moves(site_id).await?, reader.moves(site_id, PageRequest::after(cursor, 50)).await?))
        }
        .await,
    )
    .await
}
