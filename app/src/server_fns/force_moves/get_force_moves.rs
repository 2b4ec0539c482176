use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::force_move::ForceMovePage;

/// A site's force-moves and recovers, with their progress, and what the forms offer.
#[server(endpoint = "force_moves/get")]
pub async fn get_force_moves(site_id: String) -> Result<ForceMovePage, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            services.force_moves(&caller).page(site_id).await
        }
        .await,
    )
    .await
}
